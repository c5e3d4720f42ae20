"""Arrays drawn as PNG files: image grids (Pillow) and plots (matplotlib Figures saved by its Agg
canvas: no display needed, pyplot untouched). It knows no model: `paper_figures` composes the
paper's figures from edits.

matplotlib is imported by the first figure drawn, not with this module: image grids are written
with Pillow, so editing (`python -m csvae_jax.edit`) needs no matplotlib.
"""

import itertools

import numpy as np
from PIL import Image

from csvae_jax import paths


def _figure(**kwargs):
  """A matplotlib Figure of its own, outside pyplot: drawing it leaves the process's backend and
  pyplot's figures (a notebook's) alone."""
  from matplotlib import figure  # pylint: disable=g-import-not-at-top
  return figure.Figure(**kwargs)


def _save(fig, path: str) -> None:
  """Writes `fig` as a PNG to `path` (local or a bucket URI)."""
  with paths.resolve(path).open("wb") as f:
    fig.savefig(f, format="png", dpi=80)


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
  fig = _figure(figsize=(4 * cols, 4 * rows))
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
  _save(fig, path)


def plot_reconstructions(path: str, x: np.ndarray, x_hat: np.ndarray, title: str = "") -> None:
  """Inputs (odd columns) beside their reconstructions (even columns), 8 pairs a row.

  Args:
    path: PNG file to write.
    x, x_hat: [N, H, W, C] images in [0, 1] (C = 1 or 3).
  """
  pairs = 8
  rows = -(-len(x) // pairs)
  fig = _figure(figsize=(2 * pairs, rows * 1.1))
  axes = fig.subplots(rows, 2 * pairs, squeeze=False)
  for ax in axes.ravel():
    ax.axis("off")
  for i, (image, recon) in enumerate(zip(x, x_hat)):
    for j, picture in enumerate((image, recon)):
      ax = axes[i // pairs, 2 * (i % pairs) + j]
      ax.imshow(np.clip(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, 0, 1),
                cmap="gray", vmin=0, vmax=1)
  fig.suptitle(title + "  (input | reconstruction)")
  fig.tight_layout()
  _save(fig, path)


def save_image_grid(path: str, images, columns: int) -> None:
  """Writes images ([H, W, C] uint8, equal sizes) as one PNG, `columns` per row, no margins."""
  images = np.stack([np.asarray(i) for i in images])
  rows = -(-len(images) // columns)
  white = np.full((rows * columns - len(images), *images.shape[1:]), 255, np.uint8)
  sheet = _sheet(np.concatenate([images, white]).reshape(rows, columns, *images.shape[1:]))
  with paths.resolve(path).open("wb") as f:
    Image.fromarray(sheet.squeeze(-1) if sheet.shape[-1] == 1 else sheet).save(f, format="png")


def _sheet(cells: np.ndarray) -> np.ndarray:
  """Images [R, C, H, W, channels] side by side as one image [R * H, C * W, channels]."""
  rows, columns, height, width, channels = cells.shape
  return cells.transpose(0, 2, 1, 3, 4).reshape(rows * height, columns * width, channels)


def w_grid_rows(images: np.ndarray) -> np.ndarray:
  """Values at the points of a `switching.w_grid` as the grid is drawn, w1 across and w2 up.

  Args:
    images: [n * n, ...] one value (an image, a point) per grid point, in the grid's order
      (second coordinate fastest).

  Returns:
    [n, n, ...]: row r, column c holds the point of the c-th smallest w1 and the r-th largest w2.
  """
  images = np.asarray(images)
  n = int(round(np.sqrt(len(images))))
  return images.reshape(n, n, *images.shape[1:]).swapaxes(0, 1)[::-1]


def plot_w_grid(path: str, w: np.ndarray, present: np.ndarray, grid: np.ndarray,
                edits: np.ndarray, attribute: str) -> None:
  """Paper Figures 3d and 4d: the test-set posterior means in W_j with the sampling grid, beside
  the images decoded at the grid's points.

  Args:
    path: PNG file to write.
    w: [N, 2] posterior means mu_phi2^j of test examples; present: [N] whether they have it.
    grid: [n * n, 2] points of W_j. edits: [n * n, H, W, C] images in [0, 1] decoded there.
    attribute: its name, for the titles.
  """
  n = int(round(np.sqrt(len(grid))))
  fig = _figure(figsize=(4 + 1.2 * n, 1.2 * n + 0.6))
  ax = fig.add_axes((0.06, 0.1, 4 / (4 + 1.2 * n) - 0.08, 0.8))
  ax.scatter(w[:, 0], w[:, 1], c=np.where(present, "tab:red", "tab:blue"), s=2, alpha=0.5)
  ax.scatter(grid[:, 0], grid[:, 1], c="black", marker="+", s=40)
  ax.set_title(f"W of {attribute} (red: present)")
  sheet = _sheet(w_grid_rows(edits))
  ax = fig.add_axes((4 / (4 + 1.2 * n), 0.02, 1.2 * n / (4 + 1.2 * n) - 0.01, 0.9))
  ax.imshow(np.clip(sheet.squeeze(-1) if sheet.shape[-1] == 1 else sheet, 0, 1), cmap="gray")
  ax.axis("off")
  ax.set_title("decoded at the grid (w1 across, w2 up)")
  _save(fig, path)


def plot_kinds(path: str, subject: np.ndarray, rows: dict[str, np.ndarray],
               row_labels: dict[str, str], w: np.ndarray, present: np.ndarray,
               w_points: np.ndarray, attribute: str) -> None:
  """Paper Figures 3 and 4: one subject with an attribute switched on by each model kind at a
  range of points, beside the CSVAE's test posterior in W_j with its points (when dw = 2).

  Args:
    path: PNG file to write.
    subject: [H, W, C] the input, in [0, 1].
    rows: {kind: [P, H, W, C] edits in [0, 1]}, one row each, in order.
    row_labels: {kind: a label for its row (model and points)}.
    w: [N, 2] CSVAE posterior means of test examples (or [N, 0]: no scatter); present: [N] bool.
    w_points: [P, 2] the CSVAE's points.
    attribute: its name, for the title.
  """
  num_points = max(len(r) for r in rows.values())
  scatter = w.shape[1] == 2
  width = 1.1 * (num_points + 1) + (3.6 if scatter else 0)
  fig = _figure(figsize=(width, 1.3 * len(rows) + 0.6))
  grid = fig.add_gridspec(len(rows), num_points + 1 + (3 if scatter else 0), wspace=0.05,
                          hspace=0.35, left=0.02, right=0.95, bottom=0.04, top=0.86)
  for r, (kind, edits) in enumerate(rows.items()):
    for c, image in enumerate([subject, *edits]):
      ax = fig.add_subplot(grid[r, c])
      ax.imshow(np.clip(image.squeeze(-1) if image.shape[-1] == 1 else image, 0, 1), cmap="gray",
                vmin=0, vmax=1)
      ax.set_xticks([])
      ax.set_yticks([])
      if c == 1:
        ax.set_title(row_labels[kind], fontsize=8, loc="left")
      if c == 0 and r == 0:
        ax.set_ylabel("input", fontsize=8)
  if scatter:
    ax = fig.add_subplot(grid[:, num_points + 1:])
    ax.scatter(w[:, 0], w[:, 1], c=np.where(present, "tab:red", "tab:blue"), s=2, alpha=0.4)
    ax.plot(w_points[:, 0], w_points[:, 1], "k+-", markersize=8)
    ax.set_title(f"CSVAE: W of {attribute} (red: present)", fontsize=9)
    ax.yaxis.tick_right()
  fig.suptitle(f"Switching {attribute} on, one subject, each model kind")
  _save(fig, path)


def plot_method_curves(path: str, lines: dict[str, tuple[np.ndarray, np.ndarray]], xlabel: str,
                       log_x: bool = False, title: str = "") -> None:
  """Method 1 and target-changed against one quantity (the label fraction, the training step), a
  line per method or kind.

  Args:
    path: PNG file to write.
    lines: {name: (x [F], values [F, 2]: Method 1 and target-changed)}.
    xlabel: what x is.
    log_x: a log scale for x.
    title: above both panels.
  """
  fig = _figure(figsize=(10, 3.8))
  axes = fig.subplots(1, 2)
  for name, (x, values) in lines.items():
    for ax, column in zip(axes, np.asarray(values).T):
      ax.plot(x, column, "o-", label=name)
  for ax, panel in zip(axes, ("Method 1 (share switched, higher is better)",
                              "target-changed MSE (lower is better)")):
    if log_x:
      ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(panel, fontsize=10)
  axes[0].legend(fontsize=8)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  _save(fig, path)
