"""Datasets by name. Each loader returns {"train": split, "test": split} of numpy arrays, a split
being {"x": float32 [N, ...], "y": float32 [N, k] in {0, 1}}, plus its label names."""

import dataclasses
from typing import Callable

import ml_collections
import numpy as np

from csvae_jax.data import swiss_roll


@dataclasses.dataclass(frozen=True)
class Dataset:
  splits: dict[str, dict[str, np.ndarray]]  # {"train": {"x", "y"}, "test": {"x", "y"}}
  label_names: tuple[str, ...]              # k names, in the order of y's columns
  standardise: bool                         # whether the model standardises x with train statistics


def _swiss_roll(config: ml_collections.ConfigDict) -> Dataset:
  splits = swiss_roll.load(config.num_train, config.num_test, config.seed)
  return Dataset(splits=splits, label_names=swiss_roll.LABEL_NAMES, standardise=True)


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], Dataset]] = {"swiss_roll": _swiss_roll}


def load_dataset(config: ml_collections.ConfigDict) -> Dataset:
  """The dataset named by `config.name` (config is the `data` group)."""
  if config.name not in DATASETS:
    raise ValueError(f"Unknown dataset {config.name!r}; valid names: {', '.join(DATASETS)}.")
  return DATASETS[config.name](config)
