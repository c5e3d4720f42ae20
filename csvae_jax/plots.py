"""Figures, saved as PNG (matplotlib's Agg backend: no display needed)."""

import itertools

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np


def plot_latent_projections(path: str, x: np.ndarray, x_hat: np.ndarray, latents: np.ndarray,
                            latent_names: list[str], y: np.ndarray, title: str = "") -> None:
  """Paper Figure 2: the data and its reconstruction in 3-D, then the latent means on every pair
  of axes, coloured by label.

  Args:
    path: PNG file to write.
    x, x_hat: [N, 3] points and their reconstructions.
    latents: [N, L] latent means, columns named by `latent_names` (e.g. z1, z2, w1, w2).
    y: [N] binary label used for colour.
  """
  pairs = list(itertools.combinations(range(latents.shape[1]), 2))
  cols = 4
  rows = 1 + -(-len(pairs) // cols)
  fig = plt.figure(figsize=(4 * cols, 4 * rows))
  colours = np.where(y > 0.5, "tab:red", "tab:blue")
  for i, (points, name) in enumerate([(x, "data"), (x_hat, "reconstruction")]):
    ax = fig.add_subplot(rows, 2, i + 1, projection="3d")
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=colours, s=1)
    ax.set_title(name)
    ax.view_init(elev=10, azim=-80)
  for i, (a, b) in enumerate(pairs):
    ax = fig.add_subplot(rows, cols, cols + i + 1)
    ax.scatter(latents[:, a], latents[:, b], c=colours, s=1, alpha=0.5)
    ax.set_title(f"({latent_names[a]}, {latent_names[b]})")
  fig.suptitle(title + "  (red: label 1, blue: label 0)")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
