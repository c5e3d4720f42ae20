"""Labels with holes: each split's "y_mask", labels hidden at random, and the unlabelled examples.

`apply` gives every split "y_mask": float32 [N, k], 1 where the model observes the label, 0 where
it is missing; "y" keeps the true labels wherever the data know them (0 where none exists), so
the model must only see y * y_mask. Masks are per example (all of an example's labels together):

- `config.label_fraction` < 1 hides the labels of the "train" and "validation" splits, stratified
  by the joint label vector: of the n examples with labels v, exactly round(fraction * n),
  drawn with `config.label_seed`, stay observed, which keeps every label's share among the
  observed examples. "test" stays fully observed: it is the evaluation's ground truth.
- `config.unlabelled` says what becomes of the examples without observed labels (those hidden,
  and TFD's unlabelled images): "missing" keeps them (y_mask 0); "drop" removes them from every
  split; "pseudo" labels them with a classifier fitted on the observed training examples
  (`pseudo_labels`), keeping those it is sure of (y := the pseudo-labels, y_mask 1) and removing
  the rest.

Fraction 1 with every label known changes nothing and draws no random number. scikit-learn, for
the pseudo-labels, is imported only when they are made.
"""

from absl import logging
import ml_collections
import numpy as np

UNLABELLED = ("missing", "drop", "pseudo")
HIDDEN_SPLITS = ("train", "validation")  # Their index seeds each one's draw.


def check_config(config: ml_collections.ConfigDict, is_partially_labelled: bool = False) -> None:
  """Raises ValueError for an invalid label_fraction or unlabelled in the `data` group `config`;
  `is_partially_labelled` (TFD) refuses any fraction but 1: such data bring their own holes."""
  if not 0 < config.label_fraction <= 1:
    raise ValueError(f"config.data.label_fraction={config.label_fraction} must be in (0, 1], the "
                     "share of examples whose labels the model sees.")
  if config.unlabelled not in UNLABELLED:
    raise ValueError(f"config.data.unlabelled={config.unlabelled!r} is not one of "
                     f"{', '.join(UNLABELLED)}.")
  if is_partially_labelled and config.label_fraction != 1:
    raise ValueError(f"config.data.label_fraction={config.label_fraction} does not apply to "
                     f"{config.name}, whose own labels are partial: keep 1 and choose "
                     f"config.data.unlabelled ({', '.join(UNLABELLED)}).")


def observed_rows(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
  """bool [N]: the examples whose labels stay observed, exactly round(fraction * n) of the n
  examples of each distinct row of y [N, k] (rounded half to even), drawn with `rng`."""
  _, strata = np.unique(y, axis=0, return_inverse=True)
  strata = strata.reshape(-1)
  observed = np.zeros(len(y), bool)
  for stratum in range(strata.max(initial=-1) + 1):
    members = np.flatnonzero(strata == stratum)
    keep = int(np.round(fraction * len(members)))
    observed[members[rng.permutation(len(members))[:keep]]] = True
  return observed


def _is_labelled(split: dict[str, np.ndarray]) -> np.ndarray:
  return split["y_mask"].all(axis=1)


def _rows(split: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
  return {key: value[rows] for key, value in split.items()}


def apply(splits: dict[str, dict[str, np.ndarray]], config: ml_collections.ConfigDict, *,
          exclusive: bool = False) -> dict[str, dict[str, np.ndarray]]:
  """The splits with "y_mask" (ones where a split has none), hidden labels and the unlabelled
  examples treated as the module docstring says.

  Args:
    splits: {split name: {"x": [N, ...], "y": float32 [N, k], ...}}, every array [N, ...].
    config: the `data` group: label_fraction, label_seed, unlabelled.
    exclusive: one label per example (`data.Traits.exclusive`): pseudo-labels one-hot.

  Returns:
    New split dicts (the arrays of unchanged splits are shared, not copied).
  """
  out = {}
  for name, split in splits.items():
    split = dict(split)
    split.setdefault("y_mask", np.ones_like(split["y"], np.float32))
    if config.label_fraction < 1 and name in HIDDEN_SPLITS:
      labelled = np.flatnonzero(_is_labelled(split))
      rng = np.random.default_rng([config.label_seed, HIDDEN_SPLITS.index(name)])
      hidden = labelled[~observed_rows(split["y"][labelled], config.label_fraction, rng)]
      split["y_mask"] = split["y_mask"].copy()
      split["y_mask"][hidden] = 0
      logging.info("Labels of %s: %d of %d observed (label_fraction %g, seed %d).", name,
                   len(labelled) - len(hidden), len(split["y"]), config.label_fraction,
                   config.label_seed)
    out[name] = split
  if config.unlabelled == "drop":
    out = {name: split if _is_labelled(split).all() else _rows(split, _is_labelled(split))
           for name, split in out.items()}
  elif config.unlabelled == "pseudo":
    out = _pseudo_label(out, config.label_seed, exclusive)
  return out


def _pseudo_label(splits: dict[str, dict[str, np.ndarray]], seed: int,
                  exclusive: bool) -> dict[str, dict[str, np.ndarray]]:
  """Labels the unlabelled examples of HIDDEN_SPLITS with a classifier fitted on the labelled
  training examples; keeps those it is sure of (`pseudo_labels.CONFIDENCE`) with y_mask 1."""
  from csvae_jax.data import pseudo_labels  # pylint: disable=g-import-not-at-top
  names = [name for name in HIDDEN_SPLITS
           if name in splits and not _is_labelled(splits[name]).all()]
  if not names:
    return splits
  train = splits["train"]
  is_train_labelled = _is_labelled(train)
  unlabelled = {name: np.flatnonzero(~_is_labelled(splits[name])) for name in names}
  y, is_confident = pseudo_labels.predict(
      train["x"][is_train_labelled], train["y"][is_train_labelled],
      np.concatenate([splits[name]["x"][unlabelled[name]] for name in names]),
      exclusive=exclusive, seed=seed)
  out, start = dict(splits), 0
  for name in names:
    rows = unlabelled[name]
    end = start + len(rows)
    split = dict(splits[name])
    split["y"], split["y_mask"] = split["y"].copy(), split["y_mask"].copy()
    split["y"][rows], split["y_mask"][rows] = y[start:end], 1
    kept = np.ones(len(split["y"]), bool)
    kept[rows] = is_confident[start:end]
    out[name] = _rows(split, kept)
    logging.info("Pseudo-labels of %s: %d of %d unlabelled examples kept at confidence %.2f.",
                 name, kept[rows].sum(), len(rows), pseudo_labels.CONFIDENCE)
    start = end
  return out
