"""The default points of the edits (paper 4.3), computed from a model's data when the trainer saves
a checkpoint and stored with it (`checkpoint.save`), so that editing never needs the dataset.

  points = switch_points.compute(model.encode, spec, dataset.splits, max_train=10_000, step=2500)
  points.z_mean[j, 1]      # [Dz] the mean z of training examples with attribute j (the VAE's)
  points.w_present[j]      # [Dw] CSVAE: the mean of mu_phi2^j over examples with attribute j
  points.w_densest[j]      # [Dw] CSVAE: their densest encoding, the default point of switching on

`densest` finds a mode of such encodings instead of their mean: an attribute with several styles
encodes them in separate clusters of W_j, and their mean can lie between them, where the decoder
saw few encodings (docs/experiments/2026-12-02-heldout-comparison/). The mode is the default of
switching on, the mean (the paper's point) a row of Table 1
(docs/experiments/2026-12-03-edit-point/).
"""

import dataclasses
from typing import Any, Callable, Optional

import numpy as np

from csvae_jax import models

# encode(x [B, ...], y [B, k]) -> {"z_mu": [B, Dz][, "w_mu": [B, k*Dw]]}, numpy in and out.
Encode = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
Split = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class SwitchPoints:
  """The points an edit uses unless given one: the VAE's mean shift, CSVAE's point of W_j."""
  step: int                           # the checkpoint step they were computed at
  z_mean: np.ndarray                  # float32 [k, 2, Dz]: mean z encoding of the training
                                      # examples with label j observed as 0, 1
  w_present: Optional[np.ndarray] = None  # float32 [k, Dw] (CSVAE): mean of mu_phi2^j over the
                                          # examples with label j observed as 1, of...
  w_densest: Optional[np.ndarray] = None  # float32 [k, Dw] (CSVAE): `densest` of the same
  w_splits: tuple[str, ...] = ()      # ... this split per label: the held-out one, or train
                                      # where it has none

  def to_json(self) -> dict[str, Any]:
    out = {"step": self.step, "z_mean": self.z_mean.tolist(), "w_splits": list(self.w_splits)}
    for name in ("w_present", "w_densest"):
      if getattr(self, name) is not None:
        out[name] = getattr(self, name).tolist()
    return out

  @classmethod
  def from_json(cls, stored: dict[str, Any]) -> "SwitchPoints":
    """From `to_json`'s dict (checkpoints before `w_splits` was kept took validation's; those
    before `w_densest` was kept have none)."""
    w = {name: None if stored.get(name) is None else np.asarray(stored[name], np.float32)
         for name in ("w_present", "w_densest")}
    w_splits = stored.get("w_splits", ["validation"] * (0 if w["w_present"] is None
                                                        else len(w["w_present"])))
    return cls(step=int(stored["step"]), z_mean=np.asarray(stored["z_mean"], np.float32),
               w_splits=tuple(w_splits), **w)


def incomplete(points: Optional[SwitchPoints], spec: models.ModelSpec) -> bool:
  """Whether a checkpoint's `points` (None: none stored) lack any that `spec`'s edits use."""
  return points is None or (spec.has_w and points.w_densest is None)


DENSITY_RADIUS = 0.5  # of the neighbourhoods `densest` counts in (the W_j priors' sd is 1)
MAX_DENSITY_POINTS = 4096  # encodings `densest` compares, pairwise


def near_share(w: np.ndarray, points: np.ndarray, radius: float = DENSITY_RADIUS) -> np.ndarray:
  """The share of the encodings w [M, Dw] within `radius` of each of points [P, Dw]: [P]."""
  out = [np.mean(np.linalg.norm(w - p, axis=-1) < radius) for p in np.asarray(points)]
  return np.asarray(out, np.float64)


def densest(w: np.ndarray, radius: float = DENSITY_RADIUS) -> tuple[np.ndarray, float]:
  """A mode of encodings w [M, Dw] (the first MAX_DENSITY_POINTS): the encoding with the most
  others within `radius`, and its density, that share over the mean of every encoding's (above 1:
  denser than around a typical encoding). Returns (float32 [Dw], float)."""
  w = np.asarray(w, np.float32)[:MAX_DENSITY_POINTS]
  shares = near_share(w, w, radius)
  return w[int(np.argmax(shares))], float(shares.max() / shares.mean())


def _observed(split: Split, j: int, value: int) -> np.ndarray:
  """Indices of `split`'s examples whose label j is observed (`y_mask`, where present) and equal
  to `value`: int [M]."""
  observed = split["y_mask"][:, j] > 0.5 if "y_mask" in split else True
  return np.flatnonzero(observed & (split["y"][:, j] == value))


def _seen_labels(split: Split) -> np.ndarray:
  """y as the model may see it: missing labels 0."""
  return split["y"] * split["y_mask"] if "y_mask" in split else split["y"]


def compute(encode: Encode, spec: models.ModelSpec, splits: dict[str, Split], max_train: int,
            step: int) -> SwitchPoints:
  """The switch points of a model from its data's observed labels.

  Args:
    encode: the model's encoder (`TrainedModel.encode`).
    spec: the model's spec.
    splits: the dataset's splits ("train", "test" and, for images, "validation").
    max_train: training examples whose encodings are averaged.
    step: the checkpoint step of the model.
  """
  train = {k: v[:max_train] for k, v in splits["train"].items() if k in ("x", "y", "y_mask")}
  z_mu = encode(train["x"], _seen_labels(train))["z_mu"]
  z_mean = np.asarray([[z_mu[_observed(train, j, value)].mean(0) for value in (0, 1)]
                       for j in range(spec.num_labels)], np.float32)
  if not spec.has_w:
    return SwitchPoints(step=step, z_mean=z_mean)
  held_out_name = "validation" if "validation" in splits else "test"
  candidates = {held_out_name: splits[held_out_name], "train": train}
  encoded = {}  # split name -> w_mu [N, k, Dw], each split encoded once
  w_present, w_densest, w_splits = [], [], []
  for j in range(spec.num_labels):
    name = held_out_name if len(_observed(candidates[held_out_name], j, 1)) else "train"
    split = candidates[name]
    if name not in encoded:
      w_mu = encode(split["x"], _seen_labels(split))["w_mu"]
      encoded[name] = w_mu.reshape(len(w_mu), spec.num_labels, spec.w_dim)
    w_j = encoded[name][_observed(split, j, 1), j]  # [M, Dw]
    w_present.append(w_j.mean(0))
    w_densest.append(densest(w_j)[0] if len(w_j) else w_j.mean(0))  # none seen: NaN, as the mean
    w_splits.append(name)
  return SwitchPoints(step=step, z_mean=z_mean, w_present=np.asarray(w_present, np.float32),
                      w_densest=np.asarray(w_densest, np.float32), w_splits=tuple(w_splits))
