"""Tests of csvae_jax.data.celeba on fixture folders in the official CelebA formats."""

import io
import logging
import os
import shutil
import zipfile

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from bench import measure
import celeba_fixtures
from configs import image_base
import file_snapshot
from csvae_jax.data import celeba
from csvae_jax.data import celeba_crop

NUM_IMAGES = 90
SPLIT_INDEX = {"train": 0, "validation": 1, "test": 2}


def _read_fixture(root: str) -> dict[str, dict]:
  """{filename: {"attributes": {name: 1 or -1}, "split": int, "identity": int}}, parsed here."""
  def rows(name):
    with open(os.path.join(root, name), encoding="ascii") as f:
      return [line.split() for line in f.read().splitlines() if line.strip()]
  attribute_rows = rows("list_attr_celeba.txt")
  names = attribute_rows[1]
  table = {row[0]: {"attributes": dict(zip(names, map(int, row[1:])))}
           for row in attribute_rows[2:]}
  for filename, split in rows("list_eval_partition.txt"):
    table[filename]["split"] = int(split)
  identity_path = os.path.join(root, "identity_CelebA.txt")
  for filename in table:
    table[filename]["identity"] = -1
  if os.path.exists(identity_path):
    for filename, identity in rows("identity_CelebA.txt"):
      table[filename]["identity"] = int(identity)
  return table


def _expected_labels(attributes: dict[str, int]) -> dict[str, float]:
  """The paper's labels, written out independently of celeba.LABELS."""
  facial_hair = (attributes["No_Beard"] == -1 or attributes["Mustache"] == 1
                 or attributes["Goatee"] == 1)
  return {"Eyeglasses": float(attributes["Eyeglasses"] == 1), "Facial_Hair": float(facial_hair)}


def _examples(data_dir: str, subset: str, split: str) -> list[dict]:
  """The prepared examples of one split, with filenames, read through TFDS."""
  builder = celeba.CelebaSubsets(config=subset, data_dir=data_dir)
  return list(builder.as_dataset(split=split, shuffle_files=False).as_numpy_iterator())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  """Every subset prepared from a folder fixture and from a zip fixture of the same files."""
  base = tmp_path_factory.mktemp("celeba")
  folder = celeba_fixtures.write_celeba(str(base / "folder"), NUM_IMAGES)
  zipped = celeba_fixtures.write_celeba(str(base / "zipped"), NUM_IMAGES, zip_images=True)
  before = {root: file_snapshot.snapshot(root) for root in (folder, zipped)}
  loaded = {}
  for source, root in (("folder", folder), ("zip", zipped)):
    for subset in celeba.SUBSETS:
      loaded[source, subset] = celeba.load(root, str(base / f"data_{source}"), subset)
  return {"folder": folder, "zipped": zipped, "data_dir": str(base / "data_folder"),
          "before": before, "loaded": loaded, "table": _read_fixture(folder)}


@pytest.mark.parametrize("subset", list(celeba.SUBSETS))
def test_load_gives_splits_of_the_documented_shapes_and_dtypes(prepared, subset):
  splits, label_names = prepared["loaded"]["folder", subset]
  assert label_names == celeba.SUBSETS[subset]
  assert set(splits) == {"train", "validation", "test"}
  for split in splits.values():
    n = len(split["x"])
    assert n > 0
    assert split["x"].shape == (n, 64, 64, 3) and split["x"].dtype == np.uint8
    assert split["y"].shape == (n, len(label_names)) and split["y"].dtype == np.float32
    assert split["identity"].shape == (n,) and split["identity"].dtype == np.int32
    assert set(np.unique(split["y"])) <= {0.0, 1.0}
    assert split["x"].std() > 10  # Real image content, not a constant fill.
  config = image_base.get_config()
  config.data.name, config.data.subset, config.data.image_size = "celeba", subset, 32
  assert measure.data_shape(config) == (splits["train"]["x"].shape[1:], len(label_names))


def test_fixture_writes_the_official_header_and_row_format(prepared):
  with open(os.path.join(prepared["folder"], "list_attr_celeba.txt"), "rb") as f:
    lines = f.read().split(b"\r\n")
  assert lines[0] == str(NUM_IMAGES).encode()
  assert lines[1] == (" ".join(celeba.ATTRIBUTE_NAMES) + " ").encode()
  assert len(celeba.ATTRIBUTE_NAMES) == 40 and celeba.ATTRIBUTE_NAMES[27] == "Pointy_Nose"
  assert lines[2].startswith(b"000001.jpg ") and b"  1" in lines[2] and len(lines[2].split()) == 41


@pytest.mark.parametrize("subset", list(celeba.SUBSETS))
def test_zip_and_folder_give_identical_data(prepared, subset):
  folder_splits, _ = prepared["loaded"]["folder", subset]
  zip_splits, _ = prepared["loaded"]["zip", subset]
  for split in folder_splits:
    for key in ("x", "y", "identity"):
      np.testing.assert_array_equal(folder_splits[split][key], zip_splits[split][key])


@pytest.mark.parametrize("subset", list(celeba.SUBSETS))
def test_subsets_hold_all_positives_and_the_paper_share_of_negatives(prepared, subset):
  table, label_names = prepared["table"], celeba.SUBSETS[subset]
  for split, index in SPLIT_INDEX.items():
    examples = _examples(prepared["data_dir"], subset, split)
    names = [e["filename"].decode() for e in examples]
    assert len(set(names)) == len(names)
    for example, name in zip(examples, names):
      expected = _expected_labels(table[name]["attributes"])
      np.testing.assert_array_equal(example["labels"], [expected[n] for n in label_names])
    in_split = [name for name in table if table[name]["split"] == index]
    for j, label in enumerate(label_names):
      positives = {n for n in in_split if _expected_labels(table[n]["attributes"])[label]}
      assert positives <= set(names)  # Every positive of the split is kept.
      if len(label_names) == 1:
        wanted = {"Eyeglasses": 2, "Facial_Hair": 1}[label] * len(positives)
        available = len(in_split) - len(positives)
        # All negatives when too few exist; the fixture's train split has enough.
        assert split != "train" or wanted <= available
        assert len(names) - len(positives) == min(wanted, available)
      assert sum(e["labels"][j] for e in examples) == len(positives)
    counts = celeba.CelebaSubsets(config=subset, data_dir=prepared["data_dir"]).info.metadata
    assert counts["counts"][split]["total"] == len(names)


def test_glasses_facial_hair_is_the_union_of_the_two_subsets(prepared):
  for split in SPLIT_INDEX:
    def names(subset):
      return {e["filename"].decode() for e in _examples(prepared["data_dir"], subset, split)}
    assert names("glasses_facial_hair") == names("glasses") | names("facial_hair")


def test_splits_are_disjoint_and_follow_the_partition_file(prepared):
  seen = {}
  for split, index in SPLIT_INDEX.items():
    for example in _examples(prepared["data_dir"], "glasses_facial_hair", split):
      name = example["filename"].decode()
      assert name not in seen
      seen[name] = split
      assert prepared["table"][name]["split"] == index


def test_identities_are_kept(prepared):
  identities = []
  for split in SPLIT_INDEX:
    for example in _examples(prepared["data_dir"], "glasses_facial_hair", split):
      identities.append(example["identity"])
      assert example["identity"] == prepared["table"][example["filename"].decode()]["identity"]
  assert min(identities) >= 1


def test_an_image_the_identity_file_leaves_out_gets_minus_one(small, tmp_path):
  path = os.path.join(small, "identity_CelebA.txt")
  with open(path, newline="") as f:
    lines = f.read().split("\r\n")
  left_out = lines[0].split()[0]  # the first image, in the glasses subset (below)
  with open(path, "w", newline="") as f:
    f.write("\r\n".join(lines[1:]))
  data_dir = str(tmp_path / "data")
  _load(small, tmp_path)
  identities = {example["filename"].decode(): example["identity"]
                for split in SPLIT_INDEX for example in _examples(data_dir, "glasses", split)}
  assert identities[left_out] == -1 and min(v for k, v in identities.items() if k != left_out) >= 1


def test_missing_identity_file_gives_minus_one(tmp_path):
  root = celeba_fixtures.write_celeba(str(tmp_path / "m"), 20, with_identity=False, crlf=False)
  splits, _ = celeba.load(root, str(tmp_path / "d"), "glasses")
  for split in splits.values():
    np.testing.assert_array_equal(split["identity"], -1)


def test_stored_images_are_the_preprocessed_source_images(prepared):
  for example in _examples(prepared["data_dir"], "glasses", "validation"):
    path = os.path.join(prepared["folder"], "img_align_celeba", example["filename"].decode())
    source = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(example["image"], celeba.preprocess_image(source).numpy())


def test_user_files_are_not_modified(prepared):
  for root, before in prepared["before"].items():
    assert file_snapshot.snapshot(root) == before


def test_load_prepares_once(prepared, tmp_path):
  data_dir = os.path.join(prepared["data_dir"], "celeba_subsets", "glasses")
  before = file_snapshot.snapshot(data_dir)
  splits, _ = celeba.load(str(tmp_path / "no_such_folder"), prepared["data_dir"], "glasses")
  assert file_snapshot.snapshot(data_dir) == before
  first, _ = prepared["loaded"]["folder", "glasses"]
  np.testing.assert_array_equal(splits["train"]["x"], first["train"]["x"])


def test_shards_and_preprocessing_batches_keep_every_example(prepared, tmp_path, monkeypatch):
  # The fixture's splits span many shards and batches at these sizes (1,024 and 32 by default).
  monkeypatch.setattr(celeba, "_EXAMPLES_PER_SHARD", 7)
  monkeypatch.setattr(celeba, "_PREPROCESS_BATCH", 3)
  splits, _ = celeba.load(prepared["folder"], str(tmp_path / "data"), "glasses_facial_hair")
  first, _ = prepared["loaded"]["folder", "glasses_facial_hair"]
  assert len(first["train"]["x"]) > 7 * 3
  for split in SPLIT_INDEX:
    for key in ("x", "y", "identity"):
      np.testing.assert_array_equal(splits[split][key], first[split][key])


def test_the_folder_is_read_when_a_zip_lies_beside_it(prepared, tmp_path):
  root = str(tmp_path / "celeba")
  shutil.copytree(prepared["folder"], root)
  with open(os.path.join(root, "img_align_celeba.zip"), "w") as f:
    f.write("<!DOCTYPE html><html><title>Google Drive - Quota exceeded</title></html>")
  splits, _ = celeba.load(root, str(tmp_path / "data"), "glasses")
  first, _ = prepared["loaded"]["folder", "glasses"]
  np.testing.assert_array_equal(splits["test"]["x"], first["test"]["x"])


# Preprocessing.


def test_preprocessing_is_identical_eagerly_and_in_tf_data():
  images = np.random.default_rng(0).integers(0, 256, size=(3, 218, 178, 3), dtype=np.uint8)
  eager_batch = celeba.preprocess_image(images).numpy()
  eager_single = np.stack([celeba.preprocess_image(image).numpy() for image in images])
  mapped = np.stack(list(tf.data.Dataset.from_tensor_slices(images)
                         .map(celeba.preprocess_image).as_numpy_iterator()))
  mapped_batch = next(tf.data.Dataset.from_tensor_slices(images).batch(3)
                      .map(celeba.preprocess_image).as_numpy_iterator())
  assert eager_batch.shape == (3, 64, 64, 3) and eager_batch.dtype == np.uint8
  for other in (eager_single, mapped, mapped_batch):
    np.testing.assert_array_equal(eager_batch, other)


def test_crop_takes_exactly_rows_40_to_188_and_columns_15_to_163():
  inside_only = np.zeros((218, 178, 3), np.uint8)
  inside_only[40:188, 15:163] = 255
  # Nothing outside the window reaches the output...
  np.testing.assert_array_equal(celeba.preprocess_image(inside_only).numpy(), 255)
  framed = np.full((218, 178, 3), 255, np.uint8)
  framed[[40, 187], :] = 0
  framed[:, [15, 162]] = 0
  out = celeba.preprocess_image(framed).numpy()
  # ...and the window's outermost rows and columns do.
  for edge in (out[0], out[-1], out[:, 0], out[:, -1]):
    assert (edge < 255).all()
  np.testing.assert_array_equal(out[2:-2, 2:-2], 255)


def _reference_preprocessing(image: np.ndarray) -> np.ndarray:
  """float32 [64, 64, 3]: numpy's crop, then PIL's bilinear resize, which also widens its triangle
  filter when shrinking (antialiasing)."""
  crop = image[40:188, 15:163].astype(np.float32)
  return np.stack([np.asarray(Image.fromarray(crop[..., c], mode="F")
                              .resize((64, 64), Image.BILINEAR)) for c in range(3)], axis=-1)


def test_preprocessing_matches_an_independent_crop_and_antialiased_resize():
  noise = np.random.default_rng(0).integers(0, 256, size=(218, 178, 3), dtype=np.uint8)
  out = celeba.preprocess_image(noise).numpy()
  # Only the final rounding differs; a resize without antialiasing is off by up to ~120 here.
  np.testing.assert_allclose(out, _reference_preprocessing(noise), atol=0.501)


def test_preprocessing_keeps_the_rows_and_columns_of_the_window():
  rows, columns = np.meshgrid(np.arange(218), np.arange(178), indexing="ij")
  coded = np.stack([rows, columns, np.full_like(rows, 7)], axis=-1).astype(np.uint8)
  out = celeba.preprocess_image(coded).numpy()
  np.testing.assert_allclose(out, _reference_preprocessing(coded), atol=0.501)
  assert (np.diff(out[:, 0, 0].astype(int)) > 0).all()
  assert (np.diff(out[0, :, 1].astype(int)) > 0).all()
  assert 40 <= out[..., 0].min() and out[..., 0].max() <= 187
  assert 15 <= out[..., 1].min() and out[..., 1].max() <= 162
  np.testing.assert_array_equal(out[..., 2], 7)


def test_the_numpy_crop_of_photos_equals_the_tensorflow_preprocessing_bit_for_bit():
  """Editing prepares aligned photos without TensorFlow: the same bytes as the training images."""
  rng = np.random.default_rng(0)
  photos = [rng.integers(0, 256, size=celeba.ALIGNED_SHAPE, dtype=np.uint8) for _ in range(8)]
  photos += [np.asarray(Image.open(io.BytesIO(celeba_fixtures.write_jpeg(rng))))
             for _ in range(8)]
  for photo in photos:
    np.testing.assert_array_equal(celeba_crop.crop_and_resize(photo),
                                  celeba.preprocess_image(photo).numpy())
  with pytest.raises(ValueError, match=r"aligned CelebA photo \(178 wide, 218 high\)"):
    celeba_crop.crop_and_resize(np.zeros((200, 200, 3), np.uint8))
  # A float photo in [0, 1] would round to black: refused, naming the dtype.
  with pytest.raises(ValueError, match=r"uint8 \[218, 178, 3\]; got float32 \[218, 178, 3\]"):
    celeba_crop.crop_and_resize(np.ones(celeba.ALIGNED_SHAPE, np.float32))


@pytest.mark.parametrize("image", [np.zeros((200, 200, 3), np.uint8),
                                   np.zeros((178, 218, 3), np.uint8),
                                   np.zeros((218, 178, 3), np.float32),
                                   np.zeros((218, 178), np.uint8)])
def test_preprocessing_rejects_other_images(image):
  with pytest.raises(ValueError, match=r"aligned CelebA images \(178 wide, 218 high\)"):
    celeba.preprocess_image(image)


def test_preprocessing_in_tf_data_rejects_other_sizes_at_run_time():
  buffer = io.BytesIO()
  Image.new("RGB", (200, 200)).save(buffer, format="JPEG")
  dataset = tf.data.Dataset.from_tensors(buffer.getvalue()).map(tf.io.decode_jpeg)
  with pytest.raises(tf.errors.InvalidArgumentError):
    next(dataset.map(celeba.preprocess_image).as_numpy_iterator())


# Subset selection.


def _synthetic(num_rows: int, rate: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  rng = np.random.default_rng(seed)
  return rng.random((num_rows, 2)) < rate, rng.integers(0, 3, num_rows)


def test_select_examples_is_seeded_and_exact():
  labels, splits = _synthetic(3000, 0.1)
  glasses, counts = celeba.select_examples("glasses", labels[:, :1], splits, seed=0)
  again, _ = celeba.select_examples("glasses", labels[:, :1], splits, seed=0)
  other, _ = celeba.select_examples("glasses", labels[:, :1], splits, seed=1)
  facial_hair, _ = celeba.select_examples("facial_hair", labels[:, 1:], splits, seed=0)
  both, _ = celeba.select_examples("glasses_facial_hair", labels, splits, seed=0)
  for split, index in SPLIT_INDEX.items():
    positives = (splits == index) & labels[:, 0]
    assert counts[split] == {"total": 3 * positives.sum(), "Eyeglasses": positives.sum()}
    np.testing.assert_array_equal(glasses[split], again[split])
    assert set(glasses[split]) != set(other[split])
    assert set(both[split]) == set(glasses[split]) | set(facial_hair[split])
    assert (splits[glasses[split]] == index).all()
    assert len(facial_hair[split]) == 2 * ((splits == index) & labels[:, 1]).sum()


def test_select_examples_takes_all_negatives_with_a_warning_when_too_few(caplog):
  labels, splits = _synthetic(300, 0.6)
  with caplog.at_level(logging.WARNING):
    selected, _ = celeba.select_examples("glasses", labels[:, :1], splits, seed=0)
  assert "negatives for Eyeglasses wanted" in caplog.text
  for split, index in SPLIT_INDEX.items():
    assert len(selected[split]) == (splits == index).sum()


def test_select_examples_rejects_an_empty_split():
  labels, splits = _synthetic(300, 0.1)
  labels[splits == 2] = False
  with pytest.raises(ValueError, match=r"'facial_hair' is empty in split 'test'.*may be wrong"):
    celeba.select_examples("facial_hair", labels[:, 1:], splits, seed=0)


# User-facing errors.


@pytest.fixture
def small(tmp_path):
  return celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 12)


def _edit_line(path: str, number: int, edit) -> None:
  """Replaces 1-based line `number` of a CRLF file by edit(line)."""
  with open(path, newline="") as f:
    lines = f.read().split("\r\n")
  lines[number - 1] = edit(lines[number - 1])
  with open(path, "w", newline="") as f:
    f.write("\r\n".join(lines))


def _load(manual_dir: str, tmp_path, subset: str = "glasses"):
  return celeba.load(manual_dir, str(tmp_path / "data"), subset)


def test_unknown_subset(small, tmp_path):
  with pytest.raises(ValueError, match="Unknown CelebA subset 'beards'; valid subsets: glasses, "
                                       "facial_hair, glasses_facial_hair"):
    _load(small, tmp_path, "beards")


def test_missing_folder(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"does not exist.*list_attr_celeba.txt.*"
                                              r"CelebA page of MMLAB CUHK"):
    _load(str(tmp_path / "nowhere"), tmp_path)


@pytest.mark.parametrize("name", ["list_attr_celeba.txt", "list_eval_partition.txt",
                                  "img_align_celeba"])
def test_missing_file(small, tmp_path, name):
  path = os.path.join(small, name)
  if os.path.isdir(path):
    for image in os.listdir(path):
      os.remove(os.path.join(path, image))
    os.rmdir(path)
  else:
    os.remove(path)
  with pytest.raises(FileNotFoundError, match=rf"lacks {name}.*must hold img_align_celeba/"):
    _load(small, tmp_path)


@pytest.mark.parametrize("head", ["", "<!-- " + "a comment past the first kilobyte " * 30 + "-->"])
def test_html_page_saved_as_the_zip(tmp_path, head):
  root = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 12, zip_images=True)
  with open(os.path.join(root, "img_align_celeba.zip"), "w") as f:
    f.write("<!DOCTYPE html>" + head + "<html><head><title>Google Drive - Quota exceeded</title>"
            "</head></html>")
  with pytest.raises(ValueError, match=r"img_align_celeba.zip is an HTML page.*Google Drive.*"
                                       r"download the file again"):
    _load(root, tmp_path)


def test_other_file_saved_as_the_zip(tmp_path):
  root = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 12, zip_images=True)
  with open(os.path.join(root, "img_align_celeba.zip"), "wb") as f:
    f.write(b"\x1f\x8b\x08\x00 a gzip file")
  with pytest.raises(ValueError, match="img_align_celeba.zip is not a zip file"):
    _load(root, tmp_path)


def test_zip_without_the_top_level_folder(tmp_path):
  root = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 12, zip_images=True)
  path = os.path.join(root, "img_align_celeba.zip")
  with zipfile.ZipFile(path) as archive:
    members = {os.path.basename(n): archive.read(n) for n in archive.namelist() if n[-1] != "/"}
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  with pytest.raises(FileNotFoundError, match="img_align_celeba/000001.jpg is missing.*top-level"):
    _load(root, tmp_path)


@pytest.mark.parametrize("number, edit, message", [
    (5, lambda line: line.rsplit(" ", 1)[0], r"line 5: expected a filename and 40 values of 1 or "
                                              r"-1, got 39 values"),
    (4, lambda line: line[:-2] + " 0", r"line 4: value '0' is not 1 or -1"),
    (1, lambda line: "13", r"line 1: says 13 images but the file lists 12"),
    (1, lambda line: "5_o_Clock_Shadow", r"line 1: expected the number of images"),
    (2, lambda line: line.replace("Young ", ""),
     r"line 2: expected the 40 attribute names, got 39"),
])
def test_malformed_attribute_file(small, tmp_path, number, edit, message):
  _edit_line(os.path.join(small, "list_attr_celeba.txt"), number, edit)
  with pytest.raises(ValueError, match=r"list_attr_celeba.txt " + message):
    _load(small, tmp_path)


def test_unknown_attribute_name(small, tmp_path):
  _edit_line(os.path.join(small, "list_attr_celeba.txt"), 2,
             lambda line: line.replace("Eyeglasses", "Glasses"))
  with pytest.raises(ValueError, match=r"list_attr_celeba.txt line 2 has no attribute 'Eyeglasses';"
                                       r" the 40 valid names are 5_o_Clock_Shadow, .*, Young"):
    _load(small, tmp_path)


@pytest.mark.parametrize("edit, got", [(lambda line: line[:-1] + "3", "000003.jpg 3"),
                                       (lambda line: line + " 0", "000003.jpg [012] 0")],
                         ids=["value_3", "three_columns"])
def test_malformed_partition_file(small, tmp_path, edit, got):
  _edit_line(os.path.join(small, "list_eval_partition.txt"), 3, edit)
  with pytest.raises(ValueError, match=r"list_eval_partition.txt line 3: expected a filename and "
                                       rf"one of 0, 1, 2, got '{got}'"):
    _load(small, tmp_path)


def test_partition_file_missing_a_row(small, tmp_path):
  _edit_line(os.path.join(small, "list_eval_partition.txt"), 7, lambda line: "")
  with pytest.raises(ValueError, match=r"list_eval_partition.txt has no line for 000007.jpg"):
    _load(small, tmp_path)


def test_image_of_the_wrong_size(small, tmp_path):
  # The first image of the train split always wears glasses, so the glasses subset reads it.
  Image.new("RGB", (200, 200)).save(os.path.join(small, "img_align_celeba", "000001.jpg"))
  with pytest.raises(ValueError, match=r"000001.jpg is 200x200 \(width x height\); expected the "
                                       r"aligned CelebA images, 178x218"):
    _load(small, tmp_path)


def test_a_greyscale_image_is_read_as_rgb(small, tmp_path):
  path = os.path.join(small, "img_align_celeba", "000001.jpg")  # in the glasses subset
  Image.open(path).convert("L").save(path)
  _load(small, tmp_path)
  data_dir = str(tmp_path / "data")
  examples = [e for split in SPLIT_INDEX for e in _examples(data_dir, "glasses", split)]
  example = next(e for e in examples if e["filename"] == b"000001.jpg")
  grey = np.asarray(Image.open(path))[..., None].repeat(3, axis=-1)  # [218, 178, 3]
  np.testing.assert_array_equal(example["image"], celeba.preprocess_image(grey).numpy())


def test_damaged_image(small, tmp_path):
  with open(os.path.join(small, "img_align_celeba", "000001.jpg"), "r+b") as f:
    f.write(b"\x00" * 64)  # the JPEG header overwritten
  with pytest.raises(ValueError, match=r"000001.jpg is not a readable JPEG \(.*\): download it "
                                       r"again"):
    _load(small, tmp_path)


def test_missing_image(small, tmp_path):
  os.remove(os.path.join(small, "img_align_celeba", "000001.jpg"))
  with pytest.raises(FileNotFoundError, match=r"000001.jpg is missing but list_attr_celeba.txt"):
    _load(small, tmp_path)


def test_subset_empty_in_a_split(tmp_path):
  root = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 12, rates={"Eyeglasses": 0.0})
  with pytest.raises(ValueError, match=r"subset 'glasses' is empty in split 'train'.*"
                                       r"list_attr_celeba.txt may be wrong"):
    _load(root, tmp_path)


def test_failed_preparation_leaves_nothing_and_a_fixed_folder_then_loads(small, tmp_path):
  attributes = os.path.join(small, "list_attr_celeba.txt")
  with open(attributes, "rb") as f:
    original = f.read()
  _edit_line(attributes, 4, lambda line: line[:-2] + " 0")
  with pytest.raises(ValueError):
    _load(small, tmp_path)
  with open(attributes, "wb") as f:
    f.write(original)
  splits, _ = _load(small, tmp_path)
  assert len(splits["train"]["x"]) > 0


def test_the_celeba_config_trains_on_the_fixture_and_edits_a_photo(prepared, tmp_path):
  """configs/celeba_glasses.py as it is (only the step counts and sizes of the run shortened):
  it reads the fixture folder, trains, and its checkpoint edits an aligned photo."""
  from configs import celeba_glasses  # pylint: disable=g-import-not-at-top
  import csvae_jax  # pylint: disable=g-import-not-at-top
  from csvae_jax import trainer  # pylint: disable=g-import-not-at-top
  from csvae_jax import switching  # pylint: disable=g-import-not-at-top
  config = celeba_glasses.get_config()
  config.data.manual_dir = prepared["folder"]
  config.data.data_dir = prepared["data_dir"]  # the subset prepared from that folder above
  config.train.num_steps, config.train.batch_size = 2, 8
  config.train.log_every = config.train.eval_every = config.train.ckpt_every = 2
  config.eval.max_examples = 8
  trainer.train_and_evaluate(config, str(tmp_path / "run"))
  model = csvae_jax.load(str(tmp_path / "run"))
  assert model.spec.x_shape == (64, 64, 3) and model.spec.w_prior_centred
  photo = np.asarray(Image.open(io.BytesIO(celeba_fixtures.write_jpeg(np.random.default_rng(1)))))
  assert photo.shape == celeba.ALIGNED_SHAPE
  image = switching.prepare_photo(photo, model)
  np.testing.assert_array_equal(image, celeba.preprocess_image(photo))  # the training crop
  edited = csvae_jax.switch_attribute(model, image, np.zeros(1), "Eyeglasses")
  assert edited.shape == (64, 64, 3) and edited.dtype == np.uint8
