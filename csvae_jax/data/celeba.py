"""CelebA (paper 5.2): a TFDS builder that prepares the user's official files once, and `load`.

The builder `CelebaSubsets` reads the official files from a folder the user supplies (the manual
dir) and writes the paper's three subsets, preprocessed once: examples {"image": uint8
[64, 64, 3], "labels": float32 [k] in {0, 1}, "identity": int32 (-1 where unknown), "filename":
str}. `load` prepares a subset if needed and returns ({"train", "validation", "test"} each
{"x": uint8 [N, 64, 64, 3], "y": float32 [N, k] in {0, 1}, "identity": int32 [N]}, label names).

  splits, label_names = celeba.load("~/celeba_files", "~/tensorflow_datasets", "glasses")
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
import array
import dataclasses
import functools
import io
import os
import zipfile

from absl import logging
import numpy as np
from PIL import Image
import tensorflow as tf
import tensorflow_datasets as tfds

from csvae_jax.data import celeba_crop
from csvae_jax.data import pipeline

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young")
ALIGNED_SHAPE = celeba_crop.ALIGNED_SHAPE  # [H, W, C] of the official aligned images.
CROP_ROWS, CROP_COLUMNS = celeba_crop.CROP_ROWS, celeba_crop.CROP_COLUMNS  # the 148x148 face
IMAGE_SIZE = celeba_crop.IMAGE_SIZE
SPLITS = ("train", "validation", "test")  # Indexed by the value in list_eval_partition.txt.


@dataclasses.dataclass(frozen=True)
class Label:
  """A binary label: 1 where any attribute has its value; its subset adds sampled negatives."""
  attributes: tuple[tuple[str, int], ...]  # (attribute name, value 1 or -1) pairs.
  negatives_per_positive: int


# The order fixes each label's random stream, so a label samples the same negatives in every subset.
LABELS = {"Eyeglasses": Label((("Eyeglasses", 1),), negatives_per_positive=2),
          "Facial_Hair": Label((("No_Beard", -1), ("Mustache", 1), ("Goatee", 1)),
                               negatives_per_positive=1)}
SUBSETS = {"glasses": ("Eyeglasses",), "facial_hair": ("Facial_Hair",),
           "glasses_facial_hair": ("Eyeglasses", "Facial_Hair")}

IMAGES_DIR, IMAGES_ZIP = "img_align_celeba", "img_align_celeba.zip"
ATTRIBUTES_FILE, PARTITION_FILE = "list_attr_celeba.txt", "list_eval_partition.txt"
IDENTITY_FILE = "identity_CelebA.txt"
_EXPECTED_FILES = (f"{IMAGES_DIR}/ (or {IMAGES_ZIP}), {ATTRIBUTES_FILE}, {PARTITION_FILE} and "
                   f"optionally {IDENTITY_FILE}")
_SOURCE = ("the CelebA page of MMLAB CUHK, https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
           "(folders Align&Cropped Images, Anno and Eval)")
# A shard's examples stay in memory until it is written (TFDS's ShardWriter tees them), so the
# shard size, not the dataset size, bounds memory while preparing: about 12 MB of images.
_EXAMPLES_PER_SHARD = 1024
# Images resized by one TF call: as fast as larger batches, with ~80 MB less peak memory than 128.
_PREPROCESS_BATCH = 32


def preprocess_image(image: tf.Tensor | np.ndarray) -> tf.Tensor:
  """Crops aligned CelebA images to rows 40:188, columns 15:163, resizes to 64x64 (antialiased).

  TensorFlow ops only, so it runs eagerly and inside tf.data (or tf.function) alike.

  Args:
    image: uint8 [218, 178, 3] or [N, 218, 178, 3], as decoded from the official JPEGs.

  Returns:
    uint8 [64, 64, 3] or [N, 64, 64, 3].

  Raises:
    ValueError: for another dtype, rank or size.
  """
  image = tf.convert_to_tensor(image)
  if (image.dtype != tf.uint8 or image.shape.rank not in (3, 4)
      or not image.shape[-3:].is_compatible_with(ALIGNED_SHAPE)):
    raise ValueError(f"preprocess_image expects aligned CelebA images (178 wide, 218 high): uint8 "
                     f"[218, 178, 3] or [N, 218, 178, 3]; got {image.dtype.name} {image.shape}.")
  image = tf.ensure_shape(image, [None] * (image.shape.rank - 3) + list(ALIGNED_SHAPE))
  face = image[..., CROP_ROWS[0]:CROP_ROWS[1], CROP_COLUMNS[0]:CROP_COLUMNS[1], :]
  small = tf.image.resize(tf.cast(face, tf.float32), (IMAGE_SIZE, IMAGE_SIZE), antialias=True)
  return tf.cast(tf.clip_by_value(tf.round(small), 0.0, 255.0), tf.uint8)


@dataclasses.dataclass(frozen=True)
class Annotations:
  """The official annotation files, row i describing `filenames[i]`."""
  filenames: tuple[str, ...]
  attribute_names: tuple[str, ...]  # The 40 names of line 2 of list_attr_celeba.txt.
  attributes: np.ndarray            # int8 [N, 40] in {-1, 1}.
  splits: np.ndarray                # int8 [N]: 0 train, 1 validation, 2 test.
  identities: np.ndarray            # int32 [N], -1 where unknown.


def _lines(path: str) -> Iterator[tuple[int, list[str]]]:
  """(1-based line number, tokens) of each non-blank line, any line ending. A generator: the
  token lists of the attribute file's 202,599 lines would take about 0.5 GB held at once."""
  with open(path, encoding="ascii", errors="replace") as f:
    for number, line in enumerate(f, 1):
      tokens = line.split()
      if tokens:
        yield number, tokens


def _read_attributes(path: str) -> tuple[list[str], tuple[str, ...], np.ndarray]:
  lines = _lines(path)
  _, count = next(lines, (1, []))
  if len(count) != 1 or not count[0].isdigit():
    raise ValueError(f"{path} line 1: expected the number of images, then the 40 attribute names "
                     "on line 2; the file may be damaged: download it again from the Anno folder.")
  number, names = next(lines, (2, []))
  if len(names) != len(ATTRIBUTE_NAMES):
    raise ValueError(f"{path} line {number}: expected the 40 attribute names, got {len(names)}; "
                     "download the file again from the Anno folder.")
  filenames, values = [], array.array("b")  # One byte per value while the count is unchecked.
  for number, tokens in lines:
    if len(tokens) != len(names) + 1:
      raise ValueError(f"{path} line {number}: expected a filename and 40 values of 1 or -1, got "
                       f"{len(tokens) - 1} values; download the file again from the Anno folder.")
    if not set(tokens[1:]) <= {"1", "-1"}:
      bad = next(t for t in tokens[1:] if t not in ("1", "-1"))
      raise ValueError(f"{path} line {number}: value {bad!r} is not 1 or -1; download the file "
                       "again from the Anno folder.")
    filenames.append(tokens[0])
    values.extend(map(int, tokens[1:]))
  if int(count[0]) != len(filenames):
    raise ValueError(f"{path} line 1: says {count[0]} images but the file lists {len(filenames)}; "
                     "it may be truncated: download it again.")
  return filenames, tuple(names), np.frombuffer(values, np.int8).reshape(-1, len(names))


def _read_column(path: str, rows: Mapping[str, int], valid: set[str] | None,
                 default: int | None) -> np.ndarray:
  """int32 [N]: the value after each filename of `rows` in a `filename value` file.

  Args:
    path: the file.
    rows: {filename: row} of the attribute file; other filenames are ignored.
    valid: the valid values, or None for any integer.
    default: the value of filenames without a line; None makes them an error.
  """
  sentinel = np.iinfo(np.int32).min
  values = np.full(len(rows), sentinel, np.int32)
  for number, tokens in _lines(path):
    is_value = tokens[-1] in valid if valid else tokens[-1].lstrip("-").isdigit()
    if len(tokens) != 2 or not is_value:
      expected = f"one of {', '.join(sorted(valid))}" if valid else "an integer"
      raise ValueError(f"{path} line {number}: expected a filename and {expected}, got "
                       f"{' '.join(tokens)!r}; download the file again.")
    if tokens[0] in rows:
      values[rows[tokens[0]]] = int(tokens[1])
  missing = np.flatnonzero(values == sentinel)
  if len(missing):
    if default is None:
      first = next(name for name, row in rows.items() if row == missing[0])
      raise ValueError(f"{path} has no line for {first} ({len(missing)} files missing) that "
                       f"{ATTRIBUTES_FILE} lists: use files of the same CelebA release.")
    values[missing] = default
  return values


def read_annotations(manual_dir: str) -> Annotations:
  """Parses the attribute, partition and (optional) identity files of `manual_dir`.

  Raises:
    ValueError: naming the file and line of a malformed row or a count mismatch.
  """
  filenames, names, attributes = _read_attributes(os.path.join(manual_dir, ATTRIBUTES_FILE))
  rows = {name: row for row, name in enumerate(filenames)}
  splits = _read_column(os.path.join(manual_dir, PARTITION_FILE), rows, {"0", "1", "2"}, None)
  identity_path = os.path.join(manual_dir, IDENTITY_FILE)
  identities = (_read_column(identity_path, rows, None, -1) if os.path.exists(identity_path)
                else np.full(len(filenames), -1, np.int32))
  return Annotations(tuple(filenames), names, attributes, splits.astype(np.int8), identities)


def label_values(annotations: Annotations, label_names: Sequence[str]) -> np.ndarray:
  """bool [N, k]: each label of LABELS computed from the attribute columns it names.

  Raises:
    ValueError: if the attribute file lacks an attribute a label needs, listing the valid 40.
  """
  columns = []
  for label_name in label_names:
    hits = []
    for attribute, value in LABELS[label_name].attributes:
      if attribute not in annotations.attribute_names:
        raise ValueError(f"{ATTRIBUTES_FILE} line 2 has no attribute {attribute!r}; the 40 valid "
                         f"names are {', '.join(ATTRIBUTE_NAMES)}. Download the file again.")
      hits.append(annotations.attributes[:, annotations.attribute_names.index(attribute)] == value)
    columns.append(np.any(hits, axis=0))
  return np.stack(columns, axis=1)


def select_examples(subset: str, labels: np.ndarray, splits: np.ndarray,
                    seed: int) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
  """The rows of each split in `subset`: each label's positives plus its seeded negatives.

  Per split and label, all positives and `negatives_per_positive` times as many negatives drawn
  without replacement (all of them, with a warning, if there are fewer); a subset with several
  labels is the union of the single-label subsets, which draw the same negatives.

  Args:
    subset: a key of SUBSETS.
    labels: bool [N, k], the subset's labels (`label_values`).
    splits: int [N], 0 train, 1 validation, 2 test.
    seed: seeds the sample of negatives.

  Returns:
    ({split: int64 [n] sorted row indices}, {split: {"total": n, label name: positives}}).

  Raises:
    ValueError: if a split comes out empty.
  """
  label_names = SUBSETS[subset]
  selected, counts = {}, {}
  for split_index, split in enumerate(SPLITS):
    in_split = splits == split_index
    chosen = np.zeros(len(splits), bool)
    for j, name in enumerate(label_names):
      positives = in_split & labels[:, j]
      pool = np.flatnonzero(in_split & ~labels[:, j])
      wanted = LABELS[name].negatives_per_positive * int(positives.sum())
      if wanted > len(pool):
        logging.warning("CelebA %s/%s: %d negatives for %s wanted, only %d exist; taking all.",
                        subset, split, wanted, name, len(pool))
      rng = np.random.default_rng([seed, split_index, list(LABELS).index(name)])
      chosen[positives] = True
      chosen[rng.choice(pool, size=min(wanted, len(pool)), replace=False)] = True
    if not chosen.any():
      raise ValueError(f"CelebA subset {subset!r} is empty in split {split!r}: no image there has "
                       f"{' or '.join(label_names)}; {ATTRIBUTES_FILE} may be wrong: download it "
                       "again.")
    selected[split] = np.flatnonzero(chosen)
    counts[split] = {"total": int(chosen.sum())}
    counts[split].update({name: int(labels[chosen, j].sum()) for j, name in enumerate(label_names)})
    logging.info("CelebA %s/%s: %s", subset, split, counts[split])
  return selected, counts


def check_manual_dir(manual_dir: str) -> None:
  """Checks that `manual_dir` holds the official files (see `_EXPECTED_FILES`).

  Raises:
    FileNotFoundError: if the folder or a required file is missing.
    ValueError: if the zip is an HTML page or another file that is not a zip.
  """
  if not os.path.isdir(manual_dir):
    raise FileNotFoundError(f"CelebA folder {manual_dir} does not exist: create it and put there "
                            f"{_EXPECTED_FILES}, from {_SOURCE}.")
  has_folder = os.path.isdir(os.path.join(manual_dir, IMAGES_DIR))
  missing = [] if has_folder or os.path.isfile(os.path.join(manual_dir, IMAGES_ZIP)) else [
      f"{IMAGES_DIR}/ or {IMAGES_ZIP}"]
  missing += [name for name in (ATTRIBUTES_FILE, PARTITION_FILE)
              if not os.path.isfile(os.path.join(manual_dir, name))]
  if missing:
    raise FileNotFoundError(f"CelebA folder {manual_dir} lacks {', '.join(missing)}: it must hold "
                            f"{_EXPECTED_FILES}, from {_SOURCE}.")
  if not has_folder:
    zip_path = os.path.join(manual_dir, IMAGES_ZIP)
    with open(zip_path, "rb") as f:
      head = f.read(1024)
    if b"<html" in head.lower() or head.lstrip().lower().startswith(b"<!doctype"):
      raise ValueError(f"{zip_path} is an HTML page, not a zip (probably Google Drive's quota or "
                       "warning page): download the file again.")
    if not head.startswith(b"PK\x03\x04"):
      raise ValueError(f"{zip_path} is not a zip file (it starts with {head[:8]!r}): download the "
                       f"file again, or extract it to {IMAGES_DIR}/.")


class _ImageReader:
  """Decodes aligned images one at a time from img_align_celeba/, else member by member from the
  zip, kept open for all shards: reading its directory of 202,599 members again is slow."""

  def __init__(self, manual_dir: str):
    self._folder = os.path.join(manual_dir, IMAGES_DIR)
    self._zip_path = os.path.join(manual_dir, IMAGES_ZIP)
    self._zip = None if os.path.isdir(self._folder) else zipfile.ZipFile(self._zip_path)

  def read(self, filename: str) -> np.ndarray:
    """uint8 [218, 178, 3]; FileNotFoundError if absent, ValueError if not a 178x218 JPEG."""
    if self._zip is None:
      where = os.path.join(self._folder, filename)
      if not os.path.isfile(where):
        raise FileNotFoundError(f"{where} is missing but {ATTRIBUTES_FILE} lists it: copy all "
                                f"images of {IMAGES_ZIP} there.")
      with open(where, "rb") as f:
        data = f.read()
    else:
      where = f"{self._zip_path}:{IMAGES_DIR}/{filename}"
      try:
        data = self._zip.read(f"{IMAGES_DIR}/{filename}")
      except KeyError:
        raise FileNotFoundError(f"{where} is missing but {ATTRIBUTES_FILE} lists it: the zip's "
                                f"top-level folder must be {IMAGES_DIR}/.") from None
    try:
      image = Image.open(io.BytesIO(data))
      width, height = image.size
      if (height, width) != ALIGNED_SHAPE[:2]:
        raise ValueError(f"{where} is {width}x{height} (width x height); expected the aligned "
                         "CelebA images, 178x218, of the Align&Cropped Images folder.")
      return np.asarray(image.convert("RGB"))
    except OSError as error:  # PIL's errors on a damaged file do not name it.
      raise ValueError(f"{where} is not a readable JPEG ({error}): download it again.") from None


def _generate_shard(reader: _ImageReader, preprocess: Callable[[np.ndarray], tf.Tensor],
                    annotations: Annotations, labels: np.ndarray,
                    indices: np.ndarray) -> Iterator[tuple[str, dict[str, object]]]:
  """Yields the examples of rows `indices`; only `_PREPROCESS_BATCH` source images at a time."""
  for start in range(0, len(indices), _PREPROCESS_BATCH):
    batch = indices[start:start + _PREPROCESS_BATCH]
    images = preprocess(np.stack([reader.read(annotations.filenames[i]) for i in batch])).numpy()
    for i, image in zip(batch, images):
      filename = annotations.filenames[i]
      yield filename, {"image": image, "labels": labels[i].astype(np.float32),
                       "identity": annotations.identities[i], "filename": filename}


@dataclasses.dataclass(eq=False)
class CelebaConfig(tfds.core.BuilderConfig):
  """One subset of paper 5.2: its label names (keys of LABELS) and the seed of its negatives."""
  label_names: tuple[str, ...] = ()
  seed: int = 0


class CelebaSubsets(tfds.core.ShardBasedBuilder):
  """The paper's CelebA subsets (SUBSETS), preprocessed to 64x64, from the official files."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Glasses, facial hair and both, cropped and resized to 64x64."}
  BUILDER_CONFIGS = [CelebaConfig(name=name, label_names=labels, description=f"Labels {labels}.")
                     for name, labels in SUBSETS.items()]
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Download the official CelebA files from {_SOURCE}:
  img_align_celeba.zip (Align&Cropped Images; keep it zipped or extract it to {IMAGES_DIR}/),
  {ATTRIBUTES_FILE} and optionally {IDENTITY_FILE} (Anno), {PARTITION_FILE} (Eval).
  Put them all in one folder and pass it as
  `download_config=tfds.download.DownloadConfig(manual_dir=FOLDER)`. Nothing there is modified.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    num_labels = len(self.builder_config.label_names)
    return tfds.core.DatasetInfo(
        builder=self,
        description="CelebA subsets of Klys et al. 2018, cropped as Larsen et al. 2015.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)),
            "labels": tfds.features.Tensor(shape=(num_labels,), dtype=np.float32),
            "identity": tfds.features.Scalar(dtype=np.int32),
            "filename": tfds.features.Text(),
        }),
        homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager: tfds.download.DownloadManager,
                            download_config: tfds.download.DownloadConfig | None = None) -> None:
    # TFDS's own check only says the folder is missing or empty, not what belongs there.
    if download_config is not None and download_config.manual_dir is not None:
      check_manual_dir(os.fspath(download_config.manual_dir))
    logging.info("Preparing CelebA %s into %s (once for every later run).",
                 self.builder_config.name, self.data_dir)
    super()._download_and_prepare(dl_manager, download_config)

  def _shard_iterators_per_split(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    check_manual_dir(manual_dir)  # Again, for TFDS's default folder when none was configured.
    config = self.builder_config
    annotations = read_annotations(manual_dir)
    labels = label_values(annotations, config.label_names)
    selected, counts = select_examples(config.name, labels, annotations.splits, config.seed)
    self.info.metadata["counts"] = counts
    reader = _ImageReader(manual_dir)
    preprocess = tf.function(preprocess_image, input_signature=[
        tf.TensorSpec([None, *ALIGNED_SHAPE], tf.uint8)])
    shards = {}
    for split, indices in selected.items():
      shards[split] = [functools.partial(_generate_shard, reader, preprocess, annotations, labels,
                                         indices[start:start + _EXAMPLES_PER_SHARD])
                       for start in range(0, len(indices), _EXAMPLES_PER_SHARD)]
    return shards


def load(manual_dir: str, data_dir: str,
         subset: str) -> tuple[dict[str, dict[str, np.ndarray]], tuple[str, ...]]:
  """Prepares `subset` under `data_dir` unless already there, then reads every split into memory.

  Args:
    manual_dir: the folder of official files (see CelebaSubsets.MANUAL_DOWNLOAD_INSTRUCTIONS);
      only read when the subset is not yet prepared.
    data_dir: the TFDS data folder to prepare into and read from.
    subset: a key of SUBSETS: "glasses", "facial_hair" or "glasses_facial_hair".

  Returns:
    ({split: {"x": uint8 [N, 64, 64, 3], "y": float32 [N, k] in {0, 1}, "identity": int32 [N]}}
    for the splits "train", "validation" and "test", the k label names).

  Raises:
    ValueError: for an unknown subset, a malformed file or an empty split.
    FileNotFoundError: for a missing folder or file.
  """
  if subset not in SUBSETS:
    raise ValueError(f"Unknown CelebA subset {subset!r}; valid subsets: {', '.join(SUBSETS)}.")
  builder = CelebaSubsets(config=subset, data_dir=os.path.expanduser(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.path.expanduser(manual_dir)))
  logging.info("CelebA %s from %s: %s", subset, builder.data_dir, builder.info.metadata["counts"])
  return pipeline.read_prepared(builder, SPLITS), builder.builder_config.label_names
