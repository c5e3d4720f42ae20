"""Attribute switching (paper 4.3, the G_ij of each model) on a trained model.

  import csvae_jax
  model = csvae_jax.load("runs/procedural")
  glasses_on = csvae_jax.switch_attribute(model, images, labels, "Eyeglasses")   # same shape/dtype
  styles = csvae_jax.switch_attribute(model, images, labels, "Eyeglasses", point=grid)  # [P, B, ...]

| kind                  | switching attribute j to on (off)                                    |
| vae                   | z = mu(x) + t (m_j[on] - m_j[y_j]), m: the mean encodings of training |
|                       | examples with y_j = 0, 1 (TFD: m_i, x's class); t = point, default 1 |
| condvae, condvae_info | decode mu(x[, y]) with y_j = p (default 1 for on, 0 for off)          |
| csvae                 | decode z = mu_phi1(x) with w_j = p (default: the validation mean of   |
|                       | mu_phi2^j over examples with the attribute; off: the absent prior's  |
|                       | mean)                                                                 |
"""

import json
import os
from typing import Optional, Sequence, Union

import numpy as np

from csvae_jax import data as data_lib
from csvae_jax import plots
from csvae_jax import trained_model

Attribute = Union[str, int]
SWITCH_POINTS_FILE = "switch_points.json"


def attribute_index(model: trained_model.TrainedModel, attribute: Attribute) -> int:
  """The column of y for `attribute` (a name or an index); ValueError lists the valid ones."""
  names = list(model.spec.label_names)
  if isinstance(attribute, (int, np.integer)):
    if not 0 <= attribute < len(names):
      raise ValueError(f"Attribute index {attribute} is out of range; this model has "
                       f"{len(names)}: {', '.join(names)}.")
    return int(attribute)
  if attribute not in names:
    raise ValueError(f"Unknown attribute {attribute!r}; this model knows {', '.join(names)}.")
  return names.index(attribute)


def w_grid(model: trained_model.TrainedModel, size: int = 5, span: float = 3.0) -> np.ndarray:
  """A size x size grid of points in a 2-D W_j centred on the attribute-present prior mean.

  Returns:
    float32 [size * size, 2], rows of the grid in order (second coordinate fastest).
  """
  if model.spec.w_dim != 2:
    raise ValueError(f"w_grid needs dw = 2 (this model has {model.spec.w_dim}); use "
                     "principal_points for larger W_j.")
  axis = model.spec.w_present_mean + np.linspace(-span, span, size, dtype=np.float32)
  return np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)


def principal_points(model: trained_model.TrainedModel, attribute: Attribute, x: np.ndarray,
                     y: np.ndarray, num_components: int = 2, steps: Sequence[float] = (-2, 0, 2)
                     ) -> np.ndarray:
  """Points of W_j along its principal directions (paper 4.3, for dw > 2).

  The principal components of {mu_phi2^j(x, y) : y_j = 1}, combined as mean + sum_c s_c sd_c v_c
  for every s in `steps` per component.

  Returns:
    float32 [len(steps) ** num_components, Dw].
  """
  j = attribute_index(model, attribute)
  present = np.asarray(y, np.float32)[:, j] == 1
  if not present.any():
    raise ValueError(f"No example has {model.spec.label_names[j]}: principal directions need some.")
  w = model.encode(x[present], np.asarray(y)[present])["w_mu"]
  w = w.reshape(len(w), model.spec.num_labels, model.spec.w_dim)[:, j]
  mean = w.mean(0)
  _, singular, directions = np.linalg.svd(w - mean, full_matrices=False)
  scales = singular / np.sqrt(max(len(w) - 1, 1))
  coefficients = np.stack(np.meshgrid(*[steps] * num_components, indexing="ij"), -1)
  coefficients = coefficients.reshape(-1, num_components)
  return (mean + (coefficients * scales[:num_components]) @ directions[:num_components]).astype(
      np.float32)


def switch_points(model: trained_model.TrainedModel) -> dict[str, list]:
  """The default switching points of `model`, computed once from its dataset and kept in its workdir.

  Returns:
    {"step": int, "z_mean": [k][2][Dz] (mean z encoding of training examples with y_j = 0, 1),
    "w_present": [k][Dw] (CSVAE: validation mean of mu_phi2^j over examples with y_j = 1)}.
  """
  path = os.path.join(model.workdir, SWITCH_POINTS_FILE)
  if os.path.exists(path):
    with open(path) as f:
      points = json.load(f)
    if points["step"] == model.step:
      return points
  splits = data_lib.load_dataset(model.config.data).splits
  train = {k: v[:model.config.eval.probe_max_train] for k, v in splits["train"].items()}
  z_mu = model.encode(train["x"], train["y"])["z_mu"]
  points = {"step": model.step, "z_mean": [
      [z_mu[train["y"][:, j] == value].mean(0).tolist() for value in (0, 1)]
      for j in range(model.spec.num_labels)]}
  if model.spec.has_w:
    held_out = splits.get("validation", splits["test"])
    w_mu = model.encode(held_out["x"], held_out["y"])["w_mu"]
    w_mu = w_mu.reshape(len(w_mu), model.spec.num_labels, model.spec.w_dim)
    points["w_present"] = [w_mu[held_out["y"][:, j] == 1, j].mean(0).tolist()
                           for j in range(model.spec.num_labels)]
  with open(path + ".tmp", "w") as f:
    json.dump(points, f)
  os.replace(path + ".tmp", path)
  return points


def switch_attribute(model: trained_model.TrainedModel, x: np.ndarray, y: np.ndarray,
                     attribute: Union[Attribute, Sequence[Attribute]],
                     on: Union[bool, Sequence[bool]] = True,
                     point: Optional[Union[np.ndarray, float, Sequence]] = None,
                     exclusive: Optional[bool] = None) -> np.ndarray:
  """G_ij: `x` with `attribute` switched on (or off), decoded in the convention `x` came in.

  Args:
    model: a trained model (`csvae_jax.load`).
    x: one example [*x_shape] or a batch [B, *x_shape]; images uint8 in [0, 255] or float in [0, 1].
    y: its labels, [k] or [B, k] in {0, 1}.
    attribute: a name (e.g. "Eyeglasses"), an index, or a sequence of them to edit together.
    on: switch on (True) or off (False); one per attribute for a sequence.
    point: CSVAE: a point of W_j [Dw] or a batch of points [P, Dw]; CondVAE(-info): the value p
      (a scalar or [P]); VAE: the scale t of the mean shift (a scalar or [P]). For several
      attributes, a sequence with one entry (or None) each; batches of points must then have the
      same P. None: the defaults in the module docstring.
    exclusive: labels are mutually exclusive (TFD), so switching one on turns the others off;
      default True for TFD.

  Returns:
    The edited examples, shaped like `x`, with a leading [P] axis when points come in batches.
  """
  single = np.ndim(x) == len(model.spec.x_shape)
  is_uint8 = np.asarray(x).dtype == np.uint8
  x_batch = np.asarray(x)[None] if single else np.asarray(x)
  y_batch = np.asarray(y, np.float32).reshape(len(x_batch), model.spec.num_labels)
  attributes = [attribute] if isinstance(attribute, (str, int, np.integer)) else list(attribute)
  ons = [on] * len(attributes) if isinstance(on, (bool, np.bool_)) else list(on)
  points = [point] if len(attributes) == 1 else (
      list(point) if point is not None else [None] * len(attributes))
  if not len(ons) == len(points) == len(attributes):
    raise ValueError(f"{len(attributes)} attributes need as many `on` values and points; got "
                     f"{len(ons)} and {len(points)}.")
  exclusive = model.config.data.name == "tfd" if exclusive is None else exclusive
  edits = [(attribute_index(model, a), bool(o), p) for a, o, p in zip(attributes, ons, points)]
  out = _switch(model, x_batch, y_batch, edits, exclusive)  # [P, B, ...]
  if single:
    out = out[:, 0]
  if not any(p is not None and np.ndim(p) == (2 if model.spec.has_w else 1) for p in points):
    out = out[0]
  return to_uint8(out) if is_uint8 else out


def _switch(model, x, y, edits, exclusive) -> np.ndarray:
  """Applies `edits` [(index, on, point)] to x [B, ...]; returns [P, B, *x_shape]."""
  spec = model.spec
  latents = model.encode(x, y)
  z = latents["z_mu"]
  if spec.kind == "vae":
    z_mean = np.asarray(switch_points(model)["z_mean"], np.float32)  # [k, 2, Dz]
    scales = [np.atleast_1d(np.asarray(1.0 if p is None else p, np.float32)) for _, _, p in edits]
    outs = []
    for i in range(max(len(s) for s in scales)):
      z_new = z
      for (j, on, _), s in zip(edits, scales):
        # From the mean of the examples like x (its class, for exclusive labels) to the target's.
        source = z_mean[y.argmax(1), 1] if exclusive and on else z_mean[j][y[:, j].astype(int)]
        z_new = z_new + s[min(i, len(s) - 1)] * (z_mean[j][int(on)] - source)
      outs.append(model.decode(z_new))
    return np.stack(outs)
  if spec.kind in ("condvae", "condvae_info"):
    values = [np.atleast_1d(np.asarray(float(on) if p is None else p, np.float32))
              for _, on, p in edits]
    outs = []
    for i in range(max(len(v) for v in values)):
      y_new = y.copy()
      if exclusive:
        y_new[:] = 0.0
      for (j, _, _), v in zip(edits, values):
        y_new[:, j] = v[min(i, len(v) - 1)]
      outs.append(model.decode(z, y=y_new))
    return np.stack(outs)
  w = latents["w_mu"].reshape(len(x), spec.num_labels, spec.w_dim)
  defaults = switch_points(model)["w_present"]
  batches = []
  for j, on, p in edits:
    if p is None:
      p = defaults[j] if on else np.full(spec.w_dim, spec.w_absent_mean)
    batches.append(np.asarray(p, np.float32).reshape(-1, spec.w_dim))  # [P, Dw]
  outs = []
  for i in range(max(len(b) for b in batches)):
    w_new = w.copy()
    if exclusive:
      w_new[:] = spec.w_absent_mean
    for (j, _, _), b in zip(edits, batches):
      w_new[:, j] = b[min(i, len(b) - 1)]
    outs.append(model.decode(z, w=w_new.reshape(len(x), -1)))
  return np.stack(outs)


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Images in [0, 1] to uint8 in [0, 255]."""
  return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


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
  styles = {name: principal_points(model, name, x[:512], y[:512], num_components=1,
                                   steps=np.linspace(-1.5, 1.5, num_styles)) for name in names}
  paths = []
  w = model.encode(x, y)["w_mu"].reshape(len(x), len(names), model.spec.w_dim)
  for j, name in enumerate(names):
    if model.spec.w_dim == 2:
      grid = w_grid(model, 5)
      edits = switch_attribute(model, x[subject] / 255.0, y[subject], name, point=grid)
      paths.append(os.path.join(out_dir, f"w_grid_{name}.png"))
      plots.plot_w_grid(paths[-1], w[:, j], y[:, j] == 1, grid, edits, name)
    others = np.flatnonzero(y[:, j] == 0)[:num_identities]
    rows = switch_attribute(model, x[others], y[others], name, point=styles[name])  # uint8
    paths.append(os.path.join(out_dir, f"style_transfer_{name}.png"))
    plots.save_image_grid(paths[-1], [*x[others], *rows.reshape(-1, *x.shape[1:])], len(others))
  if len(names) >= 2:
    a, b = names[:2]
    pairs = [(p, q) for p in styles[a] for q in styles[b]]
    edits = switch_attribute(model, x[subject] / 255.0, y[subject], [a, b], on=[True, True],
                             point=[np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])])
    recon = model.reconstruct(x[subject], y[subject])[0]
    blank = np.full_like(x[subject], 255)
    images = []
    for r in range(num_styles):
      images += [x[subject] if r == 0 else blank, to_uint8(recon) if r == 0 else blank]
      images += list(to_uint8(edits[r * num_styles:(r + 1) * num_styles]))
    paths.append(os.path.join(out_dir, "attribute_product.png"))
    plots.save_image_grid(paths[-1], images, 2 + num_styles)
  return paths


KIND_NAMES = {"vae": "VAE", "condvae": "CondVAE", "condvae_info": "CondVAE-info",
              "csvae": "CSVAE"}  # as the paper writes them


def kinds_figure(models: dict[str, trained_model.TrainedModel], split: dict[str, np.ndarray],
                 attribute: Attribute, path: str, num_points: int = 7) -> None:
  """The paper's Figs. 3 and 4: one subject without `attribute`, switched on by each model at
  `num_points` points (VAE t and CondVAE(-info) p in [0, 3]; CSVAE along the first principal
  direction of its W_j posterior, +-2 sd), with the CSVAE posterior and points; a PNG at `path`.

  Args:
    models: {kind: model}, all trained on the data of `split` (uint8 images).
  """
  first = next(iter(models.values()))
  j = attribute_index(first, attribute)
  x, y = split["x"], split["y"]
  absent = np.flatnonzero(y[:, j] == 0)
  subject = int(absent[np.argmin(y[absent].sum(1))])
  rows, labels = {}, {}
  w, present, w_points = np.zeros((0, 0)), np.zeros(0, bool), np.zeros((0, 2))
  for kind, model in models.items():
    if model.spec.has_w:
      points = principal_points(model, j, x[:512], y[:512], num_components=1,
                                steps=np.linspace(-2, 2, num_points))
      labels[kind] = f"{KIND_NAMES[kind]}: w_j along its first principal direction"
      if model.spec.w_dim == 2:
        w = model.encode(x, y)["w_mu"].reshape(len(x), model.spec.num_labels, 2)[:, j]
        present, w_points = y[:, j] == 1, points
    else:
      points = np.linspace(0.0, 3.0, num_points, dtype=np.float32)
      labels[kind] = f"{KIND_NAMES[kind]}: {'t' if kind == 'vae' else 'p'} from 0 to 3"
    rows[kind] = switch_attribute(model, x[subject] / 255.0, y[subject], j, point=points)
  plots.plot_kinds(path, x[subject] / 255.0, rows, labels, w, present, w_points,
                   first.spec.label_names[j])
