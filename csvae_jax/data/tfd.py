"""Toronto Face Dataset (paper 5.2.1): a TFDS builder preparing the user's .mat once, and `load`.

The builder `TorontoFaces` reads TFD_48x48.mat (config "48x48", the default) or TFD_96x96.mat
("96x96") from a folder the user supplies (the manual dir), labels the unlabelled images with a
classifier trained on the labelled ones (`pseudo_labels`), keeps those it labels with probability
>= `confidence`, and splits everything 80/10/10, preserving the share of originally labelled
images per split. Its configs "48x48_all" and "96x96_all" pseudo-label nothing: they keep every
image, the unlabelled ones without labels, split the same way.
Examples: {"image": uint8 [R, R, 1], "labels": float32 [7] one-hot in LABEL_NAMES order (zeros
for an unlabelled image of an "_all" config), "identity": int32 (-1 where unknown, always for
images unlabelled in the .mat), "is_labelled": bool (labelled in the .mat)}. `load` prepares if
needed and returns ({"train", "validation", "test"} each {"x": uint8 [N, R, R, 1], "y": float32
[N, 7] one-hot or zeros, "y_mask": float32 [N, 7], "identity": int32 [N]}, LABEL_NAMES), R = 48
or 96. The data info's metadata holds the classifier's accuracy and the counts.

  splits, label_names = tfd.load("~/tfd_files", "~/tensorflow_datasets")
"""

from collections.abc import Iterator, Sequence
import dataclasses
import os

from absl import logging
import numpy as np
import scipy.io
import tensorflow_datasets as tfds

from csvae_jax.data import pipeline
from csvae_jax.data import pseudo_labels

LABEL_NAMES = ("anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")
RESOLUTIONS = {"48x48": 48, "96x96": 96}
SPLITS = ("train", "validation", "test")
SPLIT_SHARES = (0.8, 0.1, 0.1)
VARIABLES = ("images", "labs_ex", "labs_id", "folds")
NUM_FOLDS = 5
_SOURCE = ("the Toronto Face Database (Susskind, Anderson, Hinton 2010), which the University of "
           "Toronto distributes on request")


def mat_filename(resolution: int) -> str:
  """The name of the TFD file of images `resolution` pixels square, as distributed."""
  return f"TFD_{resolution}x{resolution}.mat"


@dataclasses.dataclass(frozen=True)
class TfdArrays:
  """The variables of a TFD .mat file, checked; row i is image i of the file."""
  images: np.ndarray       # uint8 [N, R, R].
  expressions: np.ndarray  # int8 [N]: index into LABEL_NAMES, -1 unlabelled.
  identities: np.ndarray   # int32 [N], -1 unknown.


def check_manual_dir(manual_dir: str, resolution: int) -> str:
  """The path of the TFD file in `manual_dir`.

  Args:
    manual_dir: the folder the user put the TFD files in.
    resolution: 48 or 96, which names the file (`mat_filename`).

  Returns:
    The path of the file, which exists.

  Raises:
    FileNotFoundError: if the folder or the file is missing, saying what belongs where.
  """
  name = mat_filename(resolution)
  if not os.path.isdir(manual_dir):
    raise FileNotFoundError(f"TFD folder {manual_dir} does not exist: create it and put {name} "
                            f"there, from {_SOURCE}.")
  path = os.path.join(manual_dir, name)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"TFD folder {manual_dir} lacks {name}: put it there, from {_SOURCE}.")
  return path


def _integer_column(mat: dict[str, np.ndarray], name: str, count: int, path: str) -> np.ndarray:
  """int64 [count] from an [N, 1] (or [N]) variable of integer values, any numeric class.

  Raises:
    ValueError: for another size or non-integer values.
  """
  values = np.asarray(mat[name])
  if values.size != count or values.ndim > 2 or not np.issubdtype(values.dtype, np.number):
    raise ValueError(f"{path}: {name} is {values.dtype} {list(values.shape)}; expected [{count}, "
                     "1] numbers, one per image: use the original TFD file.")
  values = values.reshape(-1)
  if not np.array_equal(values, np.round(values)):
    raise ValueError(f"{path}: {name} holds non-integer values; use the original TFD file.")
  return values.astype(np.int64)


def read_tfd(path: str, resolution: int) -> TfdArrays:
  """Reads and checks a TFD .mat file (MATLAB v5 or v7; v7.3 is HDF5, which scipy cannot read).

  Args:
    path: the file.
    resolution: the side its images must have, 48 or 96.

  Returns:
    Its images, expressions and identities; the official folds are checked but not returned.

  Raises:
    ValueError: for a v7.3 file, a file that is not a .mat, missing variables, wrong shapes or
      values, or no labelled images of at least two expressions.
  """
  fix_v73 = (f"{path} is a MATLAB 7.3 (HDF5) file, which scipy cannot read: re-save it as v7 in "
             f"MATLAB or Octave: load('{path}'); save('-v7', '{path}', "
             f"{', '.join(repr(v) for v in VARIABLES)}).")
  try:
    mat = scipy.io.loadmat(path)
  except NotImplementedError:  # scipy's answer to a v7.3 file (its header's version 0x0200).
    raise ValueError(fix_v73) from None
  except (ValueError, scipy.io.matlab.MatReadError) as error:
    raise ValueError(f"{path} is not a readable MATLAB file ({error}): get the original TFD "
                     "file again.") from None
  missing = [name for name in VARIABLES if name not in mat]
  if missing:
    raise ValueError(f"{path} lacks the variables {', '.join(missing)} (a TFD file holds "
                     f"{', '.join(VARIABLES)}): use the original TFD file.")
  images = mat["images"]
  if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (resolution,) * 2:
    raise ValueError(f"{path}: images is {images.dtype} {list(images.shape)}; expected uint8 "
                     f"[N, {resolution}, {resolution}]: put the {resolution}x{resolution} TFD "
                     "file under this name.")
  count = len(images)
  labels = _integer_column(mat, "labs_ex", count, path)
  bad = np.setdiff1d(labels, [-1, *range(1, len(LABEL_NAMES) + 1)])
  if len(bad):
    raise ValueError(f"{path}: labs_ex holds {bad[:5].tolist()}; expected -1 (unlabelled) or 1..7: "
                     "use the original TFD file.")
  identities = _integer_column(mat, "labs_id", count, path)
  # The official folds are checked as part of the format but not used: the paper re-splits.
  if mat["folds"].shape != (count, NUM_FOLDS):
    raise ValueError(f"{path}: folds is {list(mat['folds'].shape)}; expected [{count}, "
                     f"{NUM_FOLDS}]: use the original TFD file.")
  present = np.unique(labels[labels > 0])
  if not len(present):
    raise ValueError(f"{path} has no labelled images (labs_ex is -1 everywhere), so no classifier "
                     "can label the rest: use the original TFD file.")
  if len(present) < 2:
    raise ValueError(f"{path} labels only the expression {LABEL_NAMES[present[0] - 1]}; the "
                     "classifier needs two or more: use the original TFD file.")
  return TfdArrays(images, (labels - (labels > 0)).astype(np.int8), identities.astype(np.int32))


def deal(strata: np.ndarray, shares: Sequence[float], rng: np.random.Generator) -> np.ndarray:
  """int8 [N]: the part (index into `shares`) of each example, stratified by `strata`.

  Examples are sorted by stratum, in random order within one, and dealt out so that every prefix
  holds each part's share to within one example; so every run of consecutive strata (one stratum,
  or all of the strata sharing a leading key) is split in `shares` to within two examples.

  Args:
    strata: int [N], the stratum of each example; strata are dealt in increasing order.
    shares: the parts' shares, summing to 1.
    rng: draws the order within strata.
  """
  order = rng.permutation(len(strata))
  order = order[np.argsort(strata[order], kind="stable")]
  shares = np.asarray(shares)
  dealt, parts = np.zeros(len(shares)), np.empty(len(strata), np.int8)
  for position, example in enumerate(order):
    part = int(np.argmax(shares * (position + 1) - dealt))  # The part furthest behind its share.
    dealt[part] += 1
    parts[example] = part
  return parts


@dataclasses.dataclass(eq=False)
class TfdConfig(tfds.core.BuilderConfig):
  """One TFD resolution and the settings of the pseudo-labelling protocol (paper 5.2.1)."""
  resolution: int = 48
  pseudo_label: bool = True      # False: keep every unlabelled image, without a label.
  confidence: float = pseudo_labels.CONFIDENCE  # Keep pseudo-labels at least this probable.
  holdout_fraction: float = 0.2  # Labelled images held out to measure the classifier's accuracy.
  pca_components: int = pseudo_labels.PCA_COMPONENTS
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class Protocol:
  """The outcome of paper 5.2.1's protocol on a file's images."""
  expressions: np.ndarray  # int8 [N]: the label or pseudo-label, -1 where discarded or unlabelled.
  splits: np.ndarray       # int8 [N]: index into SPLITS, -1 where discarded.
  accuracy: float          # The classifier's accuracy on the held-out labelled images.
  counts: dict[str, object]


def label_and_split(arrays: TfdArrays, config: TfdConfig) -> Protocol:
  """Pseudo-labels the unlabelled images and splits everything, as paper 5.2.1; logs the counts.

  The classifier is fitted on all but a stratified `holdout_fraction` of the labelled images, which
  measure its accuracy, then refitted on all of them and applied to the unlabelled images; those it
  gives some expression probability >= `confidence` are kept with that expression. Without
  `config.pseudo_label`, every unlabelled image is kept, unlabelled (expression -1). The kept
  images are split 80/10/10 stratified on (originally labelled, expression).

  Args:
    arrays: the file's images and labels (`read_tfd`).
    config: the protocol's settings; its seed fixes the hold-out, the PCA and the split.

  Returns:
    Every image's expression and split (-1 where discarded), the accuracy and the counts.
  """
  is_labelled = arrays.expressions >= 0
  features = pseudo_labels.features(arrays.images)
  labelled_features, labels = features[is_labelled], arrays.expressions[is_labelled]
  holdout = deal(labels, (1 - config.holdout_fraction, config.holdout_fraction),
                 np.random.default_rng([config.seed, 0])) == 1
  classifier = pseudo_labels.fit_classifier(labelled_features[~holdout], labels[~holdout],
                                            config.pca_components, config.seed)
  accuracy = float(np.mean(classifier.predict(labelled_features[holdout]) == labels[holdout]))
  expressions = arrays.expressions.copy()
  if config.pseudo_label and not is_labelled.all():
    y, is_confident = pseudo_labels.predict(
        labelled_features, np.eye(len(LABEL_NAMES))[labels], features[~is_labelled],
        exclusive=True, confidence=config.confidence, pca_components=config.pca_components,
        seed=config.seed)
    expressions[~is_labelled] = np.where(is_confident, np.argmax(y, axis=1), -1)
  kept = expressions >= 0 if config.pseudo_label else np.ones(len(expressions), bool)
  # Originally labelled images sort after the rest, so they form one run that `deal` splits in
  # the split shares to within two images: each split gets the same share of them. Unlabelled
  # images left unlabelled form the one stratum -1.
  strata = is_labelled[kept] * len(LABEL_NAMES) + expressions[kept]
  splits = np.full(len(expressions), -1, np.int8)
  splits[kept] = deal(strata, SPLIT_SHARES, np.random.default_rng([config.seed, 1]))

  counts = {"labelled": int(is_labelled.sum()), "unlabelled": int((~is_labelled).sum()),
            "kept_unlabelled": int((kept & ~is_labelled).sum())}
  for index, split in enumerate(SPLITS):
    in_split = splits == index
    counts[split] = {"total": int(in_split.sum()), "labelled": int((in_split & is_labelled).sum())}
    counts[split].update({name: int((in_split & (expressions == e)).sum())
                          for e, name in enumerate(LABEL_NAMES)})
  logging.info("TFD %dx%d: expression classifier accuracy %.3f on %d held-out labelled images.",
               config.resolution, config.resolution, accuracy, holdout.sum())
  how = f"at confidence {config.confidence:.2f}" if config.pseudo_label else "without labels"
  logging.info("TFD %dx%d: %d labelled; %d of %d unlabelled kept %s; %s", config.resolution,
               config.resolution, counts["labelled"], counts["kept_unlabelled"],
               counts["unlabelled"], how, {s: counts[s] for s in SPLITS})
  return Protocol(expressions, splits, accuracy, counts)


class TorontoFaces(tfds.core.GeneratorBasedBuilder):
  """TFD with its unlabelled images pseudo-labelled and re-split 80/10/10, as paper 5.2.1."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Pseudo-labelled at confidence 0.9, split 80/10/10."}
  BUILDER_CONFIGS = [
      *(TfdConfig(name=name, resolution=side, description=f"{name} images, pseudo-labelled.")
        for name, side in RESOLUTIONS.items()),
      *(TfdConfig(name=f"{name}_all", resolution=side, pseudo_label=False,
                  description=f"Every {name} image, the unlabelled ones without labels.")
        for name, side in RESOLUTIONS.items())]
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  TFD is {_SOURCE}. Put TFD_48x48.mat (and, for the 96x96 config, TFD_96x96.mat) in one folder
  and pass it as `download_config=tfds.download.DownloadConfig(manual_dir=FOLDER)`. The files must
  be MATLAB v5 or v7 (not v7.3). Nothing there is modified.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    side = self.builder_config.resolution
    return tfds.core.DatasetInfo(
        builder=self,
        description="TFD pseudo-labelled and split as in Klys et al. 2018, section 5.2.1.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(side, side, 1)),
            "labels": tfds.features.Tensor(shape=(len(LABEL_NAMES),), dtype=np.float32),
            "identity": tfds.features.Scalar(dtype=np.int32),
            "is_labelled": tfds.features.Scalar(dtype=np.bool_),
        }),
        homepage="https://www.cs.toronto.edu/~jsusskin/",
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager: tfds.download.DownloadManager,
                            download_config: tfds.download.DownloadConfig | None = None) -> None:
    # TFDS's own check only says the folder is missing or empty, not what belongs there.
    if download_config is not None and download_config.manual_dir is not None:
      check_manual_dir(os.fspath(download_config.manual_dir), self.builder_config.resolution)
    super()._download_and_prepare(dl_manager, download_config)

  def _split_generators(
      self, dl_manager: tfds.download.DownloadManager
  ) -> dict[str, Iterator[tuple[int, dict[str, object]]]]:
    config = self.builder_config
    path = check_manual_dir(os.fspath(dl_manager.manual_dir), config.resolution)
    arrays = read_tfd(path, config.resolution)
    protocol = label_and_split(arrays, config)
    self.info.metadata["classifier_accuracy"] = protocol.accuracy
    self.info.metadata["counts"] = protocol.counts
    return {split: self._generate_examples(arrays, protocol, np.flatnonzero(protocol.splits == i))
            for i, split in enumerate(SPLITS)}

  def _generate_examples(self, arrays: TfdArrays, protocol: Protocol,
                         rows: np.ndarray) -> Iterator[tuple[int, dict[str, object]]]:
    # Row -1 (an image left unlabelled) is zeros.
    one_hot = np.vstack([np.eye(len(LABEL_NAMES)), np.zeros(len(LABEL_NAMES))]).astype(np.float32)
    for row in rows:
      is_labelled = bool(arrays.expressions[row] >= 0)
      # The paper extends expressions, not identities, to the unlabelled images.
      identity = arrays.identities[row] if is_labelled else -1
      yield int(row), {"image": arrays.images[row][..., None],
                       "labels": one_hot[protocol.expressions[row]],
                       "identity": np.int32(identity), "is_labelled": is_labelled}


def load(manual_dir: str, data_dir: str, resolution: str = "48x48", pseudo_label: bool = True
         ) -> tuple[dict[str, dict[str, np.ndarray]], tuple[str, ...]]:
  """Prepares TFD under `data_dir` unless already there, then reads every split into memory.

  A confidence or seed other than the defaults needs its own TfdConfig, passed to TorontoFaces.

  Args:
    manual_dir: the folder holding TFD_RxR.mat (see TorontoFaces.MANUAL_DOWNLOAD_INSTRUCTIONS);
      only read when the dataset is not yet prepared.
    data_dir: the TFDS data folder to prepare into and read from.
    resolution: a key of RESOLUTIONS: "48x48" or "96x96".
    pseudo_label: the paper's protocol (config `resolution`); False keeps every unlabelled image
      with y zeros and y_mask zeros (config `resolution`_all).

  Returns:
    ({split: {"x": uint8 [N, R, R, 1], "y": float32 [N, 7] one-hot (zeros where unlabelled),
    "y_mask": float32 [N, 7] (1 where labelled, or pseudo-labelled), "identity": int32 [N]}} for
    the splits "train", "validation" and "test", LABEL_NAMES).

  Raises:
    ValueError: for an unknown resolution or a TFD file that cannot be used (see `read_tfd`).
    FileNotFoundError: for a missing folder or file.
  """
  if resolution not in RESOLUTIONS:
    raise ValueError(f"Unknown TFD resolution {resolution!r}; valid: {', '.join(RESOLUTIONS)}.")
  builder = TorontoFaces(config=resolution if pseudo_label else f"{resolution}_all",
                         data_dir=os.path.expanduser(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.path.expanduser(manual_dir)))
  logging.info("TFD %s from %s: classifier accuracy %.3f, %s", resolution, builder.data_dir,
               builder.info.metadata["classifier_accuracy"], builder.info.metadata["counts"])
  return (pipeline.read_prepared(builder, SPLITS, None if pseudo_label else "is_labelled"),
          LABEL_NAMES)
