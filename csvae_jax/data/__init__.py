"""Datasets by name. Each loader returns a `Dataset` of in-memory numpy splits; `traits` tells
what the rest of the library may ask of a dataset from its config alone, with no data present.

A split is {"x": [N, ...] (float32 vectors in the data's units, or uint8 images [N, H, W, C]),
"y": float32 [N, k] in {0, 1}, "y_mask": float32 [N, k] in {0, 1}} plus, where known, "identity":
int32 [N] (-1 unknown) and, for the procedural images, their generating factors ("factor/<name>":
[N, ...]; the style of label j is "factor/<label_name>_style"). y_mask is 1 where the model
observes the label and 0 where it is missing; y holds the true label wherever the data know it
(0 where none exists), so the model must only see y * y_mask. config.label_fraction, label_seed
and unlabelled decide the holes (`partial_labels`).

The loaders of CelebA and TFD (TensorFlow, TFDS) and of the swiss roll (scikit-learn) are imported
when their data are loaded, so that `traits`, and with it the editing layer, needs neither.
"""

import dataclasses
from typing import Callable, Optional

import ml_collections
import numpy as np

from csvae_jax import paths
from csvae_jax.data import celeba_crop
from csvae_jax.data import partial_labels
from csvae_jax.data import procedural


# Fields of the `data` config group that say where the data are stored, not what they are: a
# checkpoint or classifier stays valid when they change.
LOCATION_FIELDS = ("data_dir", "manual_dir")
# Fields that say which labels the model sees (`partial_labels`), not what the data are: the
# evaluation's judge and ground truth read every label the data know, whatever they are.
LABELLING_FIELDS = ("label_fraction", "label_seed", "unlabelled")


@dataclasses.dataclass(frozen=True)
class Traits:
  """Facts of a dataset known from its config alone (kept with every checkpoint in its config)."""
  title: str                         # e.g. "celeba/glasses", for tables and figures
  exclusive: bool = False            # one label per example (TFD's expressions): switching one
                                     # label on turns the others off
  is_partially_labelled: bool = False  # some examples come without labels (TFD)
  num_styles: tuple[int, ...] = ()   # the generator's styles of each label, where known
  # Ground truth of an edit, where the data can re-render it: (split, label name, on) -> uint8
  # images of the split's examples with that label switched and nothing else changed.
  rerender_switched: Optional[Callable[[dict, str, bool], np.ndarray]] = None
  # A photo of this shape ([H, W, C]) is prepared as the training images were by `prepare_photo`
  # (uint8 [H, W, C] -> uint8 [*x_shape]); other photos are centre-cropped and resized.
  photo_shape: tuple[int, ...] = ()
  prepare_photo: Optional[Callable[[np.ndarray], np.ndarray]] = None


@dataclasses.dataclass(frozen=True)
class Dataset:
  splits: dict[str, dict[str, np.ndarray]]  # "train", "test" and, for images, "validation"
  label_names: tuple[str, ...]              # k names, in the order of y's columns
  standardise: bool                         # whether the model standardises x with train statistics
  traits: Traits


def _swiss_roll(config: ml_collections.ConfigDict) -> Dataset:
  from csvae_jax.data import swiss_roll  # pylint: disable=g-import-not-at-top
  splits = swiss_roll.load(config.num_train, config.num_test, config.seed)
  return Dataset(splits=splits, label_names=swiss_roll.LABEL_NAMES, standardise=True,
                 traits=traits(config))


def _procedural(config: ml_collections.ConfigDict) -> Dataset:
  splits = procedural.load(config.num_train, config.num_validation, config.num_test, config.seed,
                           config.image_size, str(paths.resolve(config.data_dir)))
  return Dataset(splits=splits, label_names=procedural.LABEL_NAMES, standardise=False,
                 traits=traits(config))


def _manual_dir(config: ml_collections.ConfigDict, dataset: str) -> str:
  if not config.manual_dir:
    raise ValueError(f"config.data.manual_dir is empty: pass --config.data.manual_dir=/path/to/"
                     f"{dataset}, the folder holding the files you downloaded "
                     "(README.md#getting-celeba-and-tfd).")
  return str(paths.resolve(config.manual_dir))


def _celeba(config: ml_collections.ConfigDict) -> Dataset:
  from csvae_jax.data import celeba  # pylint: disable=g-import-not-at-top
  splits, names = celeba.load(_manual_dir(config, "celeba"), str(paths.resolve(config.data_dir)),
                              config.subset)
  return Dataset(splits=splits, label_names=names, standardise=False, traits=traits(config))


def _tfd(config: ml_collections.ConfigDict) -> Dataset:
  from csvae_jax.data import tfd  # pylint: disable=g-import-not-at-top
  splits, names = tfd.load(_manual_dir(config, "tfd"), str(paths.resolve(config.data_dir)),
                           config.resolution, pseudo_label=config.unlabelled == "pseudo")
  return Dataset(splits=splits, label_names=names, standardise=False, traits=traits(config))


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], Dataset]] = {
    "swiss_roll": _swiss_roll, "procedural": _procedural, "celeba": _celeba, "tfd": _tfd}


def _check_name(config: ml_collections.ConfigDict) -> None:
  if config.name not in DATASETS:
    raise ValueError(f"Unknown dataset {config.name!r}; valid names: {', '.join(DATASETS)}.")


def traits(config: ml_collections.ConfigDict) -> Traits:
  """The `Traits` of the dataset named by `config.name` (config is the `data` group)."""
  _check_name(config)
  if config.name == "procedural":
    return Traits(title="procedural", num_styles=tuple(procedural.NUM_STYLES[n]
                                                       for n in procedural.LABEL_NAMES),
                  rerender_switched=procedural.rerender_switched)
  if config.name == "celeba":
    return Traits(title=f"celeba/{config.subset}", photo_shape=celeba_crop.ALIGNED_SHAPE,
                  prepare_photo=celeba_crop.crop_and_resize)
  if config.name == "tfd":
    return Traits(title=f"tfd/{config.resolution}", exclusive=True, is_partially_labelled=True)
  return Traits(title=config.name)


def with_label_defaults(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The `data` group `config` with the labelling fields that a config saved before they existed
  lacks, set as the data were then: every label observed; TFD pseudo-labelled (paper 5.2.1)."""
  config = ml_collections.ConfigDict(config.to_dict())
  unlabelled = "pseudo" if traits(config).is_partially_labelled else "missing"
  for name, value in (("label_fraction", 1.0), ("label_seed", 0), ("unlabelled", unlabelled)):
    if name not in config:
      config[name] = value
  return config


def load_evaluation_dataset(config: ml_collections.ConfigDict) -> Dataset:
  """The dataset as the evaluation sees it, whatever labels the model was trained with: every
  label the data know observed, and the examples without one (TFD's unlabelled images when
  `config.unlabelled` keeps them) left out."""
  config = with_label_defaults(config)
  config.label_fraction = 1.0
  if not traits(config).is_partially_labelled:
    config.unlabelled = "missing"
  dataset = load_dataset(config)
  splits = {}
  for name, split in dataset.splits.items():
    labelled = split["y_mask"].all(axis=1)
    splits[name] = split if labelled.all() else {k: v[labelled] for k, v in split.items()}
  return dataclasses.replace(dataset, splits=splits)


def load_dataset(config: ml_collections.ConfigDict) -> Dataset:
  """The dataset named by `config.name` (config is the `data` group), its labels partly hidden as
  config.label_fraction and config.unlabelled say (`partial_labels`)."""
  _check_name(config)
  dataset_traits = traits(config)
  partial_labels.check_config(config, dataset_traits.is_partially_labelled)
  dataset = DATASETS[config.name](config)
  return dataclasses.replace(dataset, splits=partial_labels.apply(
      dataset.splits, config, exclusive=dataset_traits.exclusive))
