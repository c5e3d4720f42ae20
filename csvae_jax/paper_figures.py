"""The paper's qualitative figures, composed from a trained model's edits (`switching`) and drawn
by `plots`: the CSVAE's W grid, style transfer and attribute product (Figs. 3d-6), and the four
kinds side by side (Figs. 3-4)."""

import os

import numpy as np

from csvae_jax import switching
from csvae_jax import plots
from csvae_jax import trained_model


def style_figures(model: trained_model.TrainedModel, split: dict[str, np.ndarray],
                  out_dir: str, num_styles: int = 3, num_identities: int = 8) -> list[str]:
  """The paper's qualitative CSVAE figures for an image model, as PNGs in `out_dir`.

  - `w_grid_<attribute>.png` (Figs. 3d, 4d; dw = 2): the test posterior in W_j, a 5x5 grid of
    points around the present prior mean and one subject decoded at each point.
  - `attribute_product.png` (Fig. 5; k >= 2): input, reconstruction and the Cartesian product of
    `num_styles` styles of the first two attributes, for one subject.
  - `style_transfer_<attribute>.png` (Fig. 6): each of `num_styles` styles carried across
    `num_identities` subjects (one row per style, the inputs on top).
  Styles are points along the first principal direction of W_j over examples with the attribute.

  Returns:
    The paths written.
  """
  x, y = split["x"], split["y"]
  names = model.spec.label_names
  subject = int(np.argmin(y.sum(1)))  # a face with as few attributes as possible
  styles = {name: switching.principal_points(model, name, x[:512], y[:512], num_components=1,
                                   steps=np.linspace(-1.5, 1.5, num_styles)) for name in names}
  paths = []
  w = model.encode(x, y)["w_mu"].reshape(len(x), len(names), model.spec.w_dim)
  for j, name in enumerate(names):
    if model.spec.w_dim == 2:
      grid = switching.w_grid(model, 5)
      edits = switching.switch_attribute(model, x[subject] / 255.0, y[subject], name, point=grid)
      paths.append(os.path.join(out_dir, f"w_grid_{name}.png"))
      plots.plot_w_grid(paths[-1], w[:, j], y[:, j] == 1, grid, edits, name)
    others = np.flatnonzero(y[:, j] == 0)[:num_identities]
    rows = switching.switch_attribute(model, x[others], y[others], name,
                                       point=styles[name])  # uint8
    paths.append(os.path.join(out_dir, f"style_transfer_{name}.png"))
    plots.save_image_grid(paths[-1], [*x[others], *rows.reshape(-1, *x.shape[1:])], len(others))
  if len(names) >= 2:
    a, b = names[:2]
    pairs = [(p, q) for p in styles[a] for q in styles[b]]
    edits = switching.switch_attribute(
        model, x[subject] / 255.0, y[subject], [a, b],
        point=[np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])])
    recon = model.reconstruct(x[subject], y[subject])[0]
    blank = np.full_like(x[subject], 255)
    images = []
    for r in range(num_styles):
      images += [x[subject] if r == 0 else blank, switching.to_uint8(recon) if r == 0 else blank]
      images += list(switching.to_uint8(edits[r * num_styles:(r + 1) * num_styles]))
    paths.append(os.path.join(out_dir, "attribute_product.png"))
    plots.save_image_grid(paths[-1], images, 2 + num_styles)
  return paths


def kinds_figure(models: dict[str, trained_model.TrainedModel], split: dict[str, np.ndarray],
                 attribute: switching.Attribute, path: str, num_points: int = 7) -> None:
  """The paper's Figs. 3 and 4: one subject without `attribute`, switched on by each model at
  `num_points` points (VAE t and CondVAE(-info) p in [0, 3]; CSVAE along the first principal
  direction of its W_j posterior, +-2 sd), with the CSVAE posterior and points; a PNG at `path`.

  Args:
    models: {kind: model}, all trained on the data of `split` (uint8 images).
  """
  first = next(iter(models.values()))
  j = switching.attribute_index(first, attribute)
  x, y = split["x"], split["y"]
  absent = np.flatnonzero(y[:, j] == 0)
  subject = int(absent[np.argmin(y[absent].sum(1))])
  rows, labels = {}, {}
  w, present, w_points = np.zeros((0, 0)), np.zeros(0, bool), np.zeros((0, 2))
  for kind, model in models.items():
    if model.spec.has_w:
      points = switching.principal_points(model, j, x[:512], y[:512], num_components=1,
                                steps=np.linspace(-2, 2, num_points))
      labels[kind] = f"{model.spec.display_name}: w_j along its first principal direction"
      if model.spec.w_dim == 2:
        w = model.encode(x, y)["w_mu"].reshape(len(x), model.spec.num_labels, 2)[:, j]
        present, w_points = y[:, j] == 1, points
    else:
      points = np.linspace(*switching.P_RANGE, num_points, dtype=np.float32)
      labels[kind] = (f"{model.spec.display_name}: {'p' if model.spec.decodes_y else 't'} from "
                      f"{switching.P_RANGE[0]:g} to {switching.P_RANGE[1]:g}")
    rows[kind] = switching.switch_attribute(model, x[subject] / 255.0, y[subject], j, point=points)
  plots.plot_kinds(path, x[subject] / 255.0, rows, labels, w, present, w_points,
                   first.spec.label_names[j])
