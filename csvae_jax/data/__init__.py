"""Datasets by name. Each loader returns a `Dataset` of in-memory numpy splits.

A split is {"x": [N, ...] (float32 vectors in the data's units, or uint8 images [N, H, W, C]),
"y": float32 [N, k] in {0, 1}} plus, where known, "identity": int32 [N] (-1 unknown) and, for the
procedural images, their generating factors ("factor/<name>": [N, ...]).
"""

import dataclasses
import os
from typing import Callable

import ml_collections
import numpy as np

from csvae_jax.data import celeba
from csvae_jax.data import procedural
from csvae_jax.data import swiss_roll
from csvae_jax.data import tfd


@dataclasses.dataclass(frozen=True)
class Dataset:
  splits: dict[str, dict[str, np.ndarray]]  # "train", "test" and, for images, "validation"
  label_names: tuple[str, ...]              # k names, in the order of y's columns
  standardise: bool                         # whether the model standardises x with train statistics


def _swiss_roll(config: ml_collections.ConfigDict) -> Dataset:
  splits = swiss_roll.load(config.num_train, config.num_test, config.seed)
  return Dataset(splits=splits, label_names=swiss_roll.LABEL_NAMES, standardise=True)


def _procedural(config: ml_collections.ConfigDict) -> Dataset:
  splits = procedural.load(config.num_train, config.num_validation, config.num_test, config.seed,
                           config.image_size, os.path.expanduser(config.data_dir))
  return Dataset(splits=splits, label_names=procedural.LABEL_NAMES, standardise=False)


def _manual_dir(config: ml_collections.ConfigDict, dataset: str) -> str:
  if not config.manual_dir:
    raise ValueError(f"config.data.manual_dir is empty: pass --config.data.manual_dir=/path/to/"
                     f"{dataset}, the folder holding the files you downloaded (README: {dataset}).")
  return os.path.expanduser(config.manual_dir)


def _celeba(config: ml_collections.ConfigDict) -> Dataset:
  splits, names = celeba.load(_manual_dir(config, "celeba"), os.path.expanduser(config.data_dir),
                              config.subset)
  return Dataset(splits=splits, label_names=names, standardise=False)


def _tfd(config: ml_collections.ConfigDict) -> Dataset:
  splits, names = tfd.load(_manual_dir(config, "tfd"), os.path.expanduser(config.data_dir),
                           config.resolution)
  return Dataset(splits=splits, label_names=names, standardise=False)


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], Dataset]] = {
    "swiss_roll": _swiss_roll, "procedural": _procedural, "celeba": _celeba, "tfd": _tfd}


def load_dataset(config: ml_collections.ConfigDict) -> Dataset:
  """The dataset named by `config.name` (config is the `data` group)."""
  if config.name not in DATASETS:
    raise ValueError(f"Unknown dataset {config.name!r}; valid names: {', '.join(DATASETS)}.")
  return DATASETS[config.name](config)
