"""Attribute switching (paper 4.3, the G_ij of each model) on a trained model.

  import csvae_jax
  model = csvae_jax.load("runs/procedural")
  glasses_on = csvae_jax.switch_attribute(model, images, labels, "Eyeglasses")   # same shape/dtype
  styles = csvae_jax.switch_attribute(model, images, labels, "Eyeglasses", point=grid)  # [P, B, ...]

| kind                  | switching attribute j to on (off)                                    |
| vae                   | z = mu(x) + t (m_j[on] - m_j[y_j]), m: the mean encodings of training |
|                       | examples with y_j = 0, 1 (TFD: m_i, x's class); t = point, default 1 |
| condvae, condvae_info | decode mu(x[, y]) with y_j = p (default 1 for on, 0 for off)          |
| csvae                 | decode z = mu_phi1(x) with w_j = p (default: the densest validation  |
|                       | encoding mu_phi2^j of the examples with the attribute; off: the      |
|                       | absent prior's mean)                                                 |

CSVAE's default point for switching on is a mode of the encodings, not the paper's point (their
mean, `paper_point`): with several styles of an attribute the mean can lie between their clusters,
where the decoder draws other labels too (docs/experiments/2026-12-03-edit-point/).
"""

from typing import Optional, Sequence, Union

from absl import logging
import numpy as np
from PIL import Image

from csvae_jax import data as data_lib
from csvae_jax import switch_points as switch_points_lib
from csvae_jax import trained_model

Attribute = Union[str, int]
P_RANGE = (0.0, 3.0)  # The paper's range of p for CondVAE(-info) (and of the VAE's scale t).


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


def w_grid(model: trained_model.TrainedModel, size: int = 5, span: float = 3.0,
           centre: Optional[np.ndarray] = None) -> np.ndarray:
  """A size x size grid of points in a 2-D W_j, `centre` +- `span` on each axis; by default
  centred on the attribute-present prior mean.

  Returns:
    float32 [size * size, 2], rows of the grid in order (second coordinate fastest).
  """
  if model.spec.w_dim != 2:
    raise ValueError(f"w_grid needs dw = 2 (this model has {model.spec.w_dim}); use "
                     "principal_points for larger W_j.")
  centre = np.full(2, model.spec.w_present_mean) if centre is None else np.asarray(centre)
  offsets = np.linspace(-span, span, size)
  axes = [(c + offsets).astype(np.float32) for c in centre]
  return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)


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


def switch_points(model: trained_model.TrainedModel) -> switch_points_lib.SwitchPoints:
  """The default switching points stored with `model`'s checkpoint (`switch_points.compute`).

  Raises:
    ValueError: for a checkpoint written before they were stored, naming the command that adds them.
  """
  if model.switch_points is None:
    raise ValueError(
        f"The checkpoint at step {model.step} in {model.workdir} has no stored switch points (it "
        "predates them). Add them once, with the dataset present: python "
        f"scripts/add_switch_points.py --workdir {model.workdir}")
  return model.switch_points


def paper_point(model: trained_model.TrainedModel, j: int, on: bool) -> Optional[np.ndarray]:
  """The paper's point (4.3) of switching label j on or off where it is not `switch_attribute`'s
  default: CSVAE switching on, the mean of mu_phi2^j over the examples with the attribute, [Dw];
  otherwise None (the default is the paper's)."""
  return switch_points(model).w_present[j] if model.spec.has_w and on else None


def _default_w(model: trained_model.TrainedModel, j: int, on: bool) -> np.ndarray:
  """CSVAE's default point of W_j, [Dw]: the densest encoding with the attribute (on) or the
  absent prior's mean (off)."""
  spec = model.spec
  if not on:
    return np.full(spec.w_dim, spec.w_absent_mean, np.float32)
  points = switch_points(model)
  if points.w_densest is None:
    raise ValueError(
        f"The checkpoint at step {model.step} in {model.workdir} predates the default point of "
        "switching on (the densest encoding); store it once, with the dataset present: python "
        f"scripts/add_switch_points.py --workdir {model.workdir} (or pass `point`).")
  return points.w_densest[j]


def switch_attribute(model: trained_model.TrainedModel, x: np.ndarray, y: Optional[np.ndarray],
                     attribute: Union[Attribute, Sequence[Attribute]],
                     on: Union[bool, Sequence[bool]] = True,
                     point: Optional[Union[np.ndarray, float, Sequence]] = None,
                     exclusive: Optional[bool] = None) -> np.ndarray:
  """G_ij: `x` with `attribute` switched on (or off), decoded in the convention `x` came in.

  Args:
    model: a trained model (`csvae_jax.load`).
    x: one example [*x_shape] or a batch [B, *x_shape]; images uint8 in [0, 255] or float in [0, 1].
    y: its labels, [k] or [B, k] in {0, 1}; None for unknown labels, which q(y|x) then gives
      (models trained with config.model.infer_labels).
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
  if y is None:
    y = model.infer_labels(x_batch)
  y_batch = np.asarray(y, np.float32).reshape(len(x_batch), model.spec.num_labels)
  attributes = [attribute] if isinstance(attribute, (str, int, np.integer)) else list(attribute)
  ons = [on] * len(attributes) if isinstance(on, (bool, np.bool_)) else list(on)
  points = [point] if len(attributes) == 1 else (
      list(point) if point is not None else [None] * len(attributes))
  if not len(ons) == len(points) == len(attributes):
    raise ValueError(f"{len(attributes)} attributes need as many `on` values and points; got "
                     f"{len(ons)} and {len(points)}.")
  if exclusive is None:
    exclusive = data_lib.traits(model.config.data).exclusive
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
  if not spec.has_w and not spec.decodes_y:  # the VAE
    z_mean = switch_points(model).z_mean  # [k, 2, Dz]
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
  if spec.decodes_y:
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
  batches = []
  for j, on, p in edits:
    if p is None:
      p = _default_w(model, j, on)
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


def prepare_photo(image: np.ndarray, model: trained_model.TrainedModel,
                  name: str = "the photo") -> np.ndarray:
  """A photo of any size as `model`'s input: uint8 [H, W, C] (or [H, W]) -> uint8 [*x_shape].

  A photo of the data's aligned shape (CelebA's 178x218) gets the training crop and resize; one of
  the model's own size is kept; any other is centre-cropped to a square and resized, with a logged
  note that edits work best on faces aligned as in training.

  Raises:
    ValueError: `model` is a model of vectors (the swiss roll), not of images.
  """
  if not model.spec.is_image:
    raise ValueError(f"{model.workdir} holds a model of vectors {list(model.spec.x_shape)}, not of "
                     "images: give the workdir of a model trained on images.")
  height, width, channels = model.spec.x_shape
  image = np.asarray(image, np.uint8)
  image = image[..., None] if image.ndim == 2 else image
  traits = data_lib.traits(model.config.data)
  if traits.prepare_photo is not None and image.shape == tuple(traits.photo_shape):
    return traits.prepare_photo(image)
  if image.shape == model.spec.x_shape:
    return image
  expected = f"{width}x{height}" + (
      f" or {traits.photo_shape[1]}x{traits.photo_shape[0]}" if traits.photo_shape else "")
  logging.warning("%s is %dx%d, not %s: centre-cropped to a square and resized to %dx%d. Edits "
                  "work best on faces aligned as in training.", name, image.shape[1],
                  image.shape[0], expected, width, height)
  side = min(image.shape[:2])
  top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
  square = image[top:top + side, left:left + side]
  resized = Image.fromarray(square[..., 0] if channels == 1 else square).resize(
      (width, height), Image.Resampling.LANCZOS)
  return np.asarray(resized).reshape(height, width, channels)


def photo_labels(model: trained_model.TrainedModel, x: np.ndarray, j: int, off: bool,
                 labels: dict[str, float]) -> np.ndarray:
  """The labels an edit of one photo x [*x_shape] starts from (`python -m csvae_jax.edit`):
  float32 [k]. `labels` ({name: 0 or 1}) first; the others q(y|x)'s for a model that infers
  labels, else attribute j the opposite of the edit's target (1 when switching it off), the rest 0.
  Exclusive labels (one per example, TFD's expressions) are given as the one that is 1.

  Raises:
    ValueError: an unknown name; exclusive labels given otherwise than as one name=1.
  """
  given = {attribute_index(model, name): value for name, value in labels.items()}
  if model.spec.exclusive_labels and given:
    present = [i for i, value in given.items() if value == 1]
    if len(present) != 1:
      raise ValueError(f"--labels {','.join(f'{n}={v:g}' for n, v in labels.items())}: this "
                       "model's labels are exclusive (one per image); give the image's label as "
                       f"name=1, e.g. --labels {model.spec.label_names[0]}=1.")
    return np.eye(model.spec.num_labels, dtype=np.float32)[present[0]]
  if model.spec.infer_labels:
    y = model.infer_labels(x)[0]
  else:
    y = np.zeros(model.spec.num_labels, np.float32)
    y[j] = float(off)
  for i, value in given.items():
    y[i] = value
  return y


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Images in [0, 1] to uint8 in [0, 255]."""
  return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)
