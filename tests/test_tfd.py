"""Tests of csvae_jax.data.tfd on fixture .mat files in the real TFD format."""

import dataclasses
import logging
import os

import numpy as np
import pytest
import scipy.io

from bench import measure
import file_snapshot
import tfd_fixtures
from configs import tiny
from configs import tiny_images
from csvae_jax import data as data_lib
from csvae_jax import trainer
from csvae_jax.data import pseudo_labels
from csvae_jax.data import tfd

NUM_IMAGES = 300
SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _arrays(variables: dict[str, np.ndarray]) -> tfd.TfdArrays:
  """The fixture's file variables as read_tfd returns them, converted here independently."""
  labs_ex = variables["labs_ex"][:, 0]
  return tfd.TfdArrays(variables["images"], np.where(labs_ex > 0, labs_ex - 1, -1).astype(np.int8),
                       variables["labs_id"][:, 0].astype(np.int32))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  """The 48x48 fixture prepared through `load`, the fixture's hidden truth, and its examples."""
  base = tmp_path_factory.mktemp("tfd")
  root = tfd_fixtures.write_tfd(str(base / "manual"), NUM_IMAGES)
  before = file_snapshot.snapshot(root)
  data_dir = str(base / "data")
  splits, label_names = tfd.load(root, data_dir)
  truth = tfd_fixtures.make_tfd(NUM_IMAGES)
  row_of_image = {image.tobytes(): row for row, image in enumerate(truth["images"])}
  builder = tfd.TorontoFaces(data_dir=data_dir)
  examples = {split: list(builder.as_dataset(split=split, shuffle_files=False).as_numpy_iterator())
              for split in tfd.SPLITS}
  rows = {split: [row_of_image[e["image"][..., 0].tobytes()] for e in examples[split]]
          for split in tfd.SPLITS}
  return {"root": root, "before": before, "data_dir": data_dir, "splits": splits,
          "label_names": label_names, "truth": truth, "examples": examples, "rows": rows,
          "metadata": builder.info.metadata}


def test_fixture_is_a_v5_mat_with_the_real_variables(prepared):
  path = os.path.join(prepared["root"], "TFD_48x48.mat")
  with open(path, "rb") as f:
    assert f.read(128).startswith(b"MATLAB 5.0 MAT-file")
  mat = scipy.io.loadmat(path)
  n = NUM_IMAGES
  assert mat["images"].shape == (n, 48, 48) and mat["images"].dtype == np.uint8
  assert mat["labs_ex"].shape == (n, 1) and mat["labs_id"].shape == (n, 1)
  assert mat["folds"].shape == (n, 5)
  labelled = mat["labs_ex"][:, 0] != -1
  assert set(np.unique(mat["labs_ex"][labelled])) == set(range(1, 8))
  assert (mat["labs_id"][~labelled] == -1).all() and (mat["labs_id"][labelled] > 0).mean() > 0.8
  assert (mat["folds"][~labelled] == 0).all() and np.isin(mat["folds"][labelled], [1, 2, 3]).all()
  assert "true_labs_ex" not in mat


def test_load_gives_splits_of_the_documented_shapes_dtypes_and_ranges(prepared):
  splits = prepared["splits"]
  assert prepared["label_names"] == tfd.LABEL_NAMES == (
      "anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")
  assert set(splits) == {"train", "validation", "test"}
  for split in splits.values():
    n = len(split["x"])
    assert n > 0
    assert split["x"].shape == (n, 48, 48, 1) and split["x"].dtype == np.uint8
    assert split["y"].shape == (n, 7) and split["y"].dtype == np.float32
    assert split["identity"].shape == (n,) and split["identity"].dtype == np.int32
    assert split["y_mask"].dtype == np.float32
    np.testing.assert_array_equal(split["y_mask"], np.ones((n, 7)))  # Pseudo-labels are observed.
    assert set(np.unique(split["y"])) == {0.0, 1.0}
    np.testing.assert_array_equal(split["y"].sum(axis=1), 1.0)
    assert split["x"].std() > 10 and split["x"].max() > 200  # Real image content.
    assert split["identity"].min() >= -1


@pytest.fixture(scope="module")
def prepared_all(prepared):
  """The same file prepared without pseudo-labels ("48x48_all"), and each split's file rows."""
  splits, _ = tfd.load(prepared["root"], prepared["data_dir"], pseudo_label=False)
  row_of_image = {image.tobytes(): row for row, image in enumerate(prepared["truth"]["images"])}
  rows = {split: np.array([row_of_image[image[..., 0].tobytes()] for image in splits[split]["x"]])
          for split in tfd.SPLITS}
  return {"splits": splits, "rows": rows}


def test_without_pseudo_labels_every_image_comes_the_unlabelled_as_missing(prepared, prepared_all):
  truth = prepared["truth"]
  rows = np.concatenate([prepared_all["rows"][split] for split in tfd.SPLITS])
  np.testing.assert_array_equal(np.sort(rows), np.arange(NUM_IMAGES))  # Each image once.
  for split in tfd.SPLITS:
    data, labs_ex = prepared_all["splits"][split], truth["labs_ex"][prepared_all["rows"][split], 0]
    labelled = labs_ex != -1
    assert 0 < labelled.sum() < len(labelled)
    np.testing.assert_array_equal(data["y_mask"], np.repeat(labelled[:, None], 7, 1))
    np.testing.assert_array_equal(data["y"][labelled], np.eye(7)[labs_ex[labelled] - 1])
    np.testing.assert_array_equal(data["y"][~labelled], 0.0)
    np.testing.assert_array_equal(data["identity"][~labelled], -1)
    assert data["y_mask"].dtype == data["y"].dtype == np.float32


def test_without_pseudo_labels_splits_are_80_10_10_with_equal_labelled_shares(prepared_all):
  labelled = prepared_all["splits"]["train"]["y_mask"][:, 0].sum() + sum(
      prepared_all["splits"][split]["y_mask"][:, 0].sum() for split in ("validation", "test"))
  for split, share in SHARES.items():
    mask = prepared_all["splits"][split]["y_mask"][:, 0]
    assert abs(len(mask) - share * NUM_IMAGES) <= 1
    assert abs(mask.sum() - share * labelled) <= 2


@pytest.mark.parametrize("unlabelled", ["missing", "drop"])
def test_unlabelled_modes_through_the_registry(prepared, prepared_all, unlabelled):
  config = tiny.get_config().data
  config.name, config.unlabelled = "tfd", unlabelled
  config.manual_dir, config.data_dir = prepared["root"], prepared["data_dir"]
  splits = data_lib.load_dataset(config).splits
  # The evaluation reads the labelled images alone, whichever way training took the others.
  evaluation = data_lib.load_evaluation_dataset(config).splits
  for split in tfd.SPLITS:
    every = prepared_all["splits"][split]
    labelled = every["y_mask"][:, 0] == 1
    kept = labelled if unlabelled == "drop" else np.ones(len(every["y"]), bool)
    for key in ("x", "y", "y_mask", "identity"):
      np.testing.assert_array_equal(splits[split][key], every[key][kept])
      np.testing.assert_array_equal(evaluation[split][key], every[key][labelled])


def test_the_trainer_evaluates_on_labelled_images_only(prepared, prepared_all):
  """TFD's unlabelled images come with y = 0, which the training-time evaluation would read as a
  label; labels hidden by label_fraction keep their true values and stay in."""
  config = tiny.get_config().data
  config.name, config.unlabelled = "tfd", "missing"
  config.manual_dir, config.data_dir = prepared["root"], prepared["data_dir"]
  dataset = data_lib.load_dataset(config)
  split = trainer._eval_examples(dataset)
  full = tiny.get_config()
  full.data = config
  assert measure.data_shape(full) == (split["x"].shape[1:], 7)  # the benchmarks' shape
  every = prepared_all["splits"]["validation"]
  labelled = every["y_mask"][:, 0] == 1
  assert 0 < labelled.sum() < len(labelled)
  for key in ("x", "y", "identity"):
    np.testing.assert_array_equal(split[key], every[key][labelled])
  config = tiny_images.get_config().data
  config.label_fraction, config.data_dir = 0.5, prepared["data_dir"]
  dataset = data_lib.load_dataset(config)
  assert dataset.splits["validation"]["y_mask"].min() == 0
  assert trainer._eval_examples(dataset) is dataset.splits["validation"]


def test_examples_are_the_file_images_with_their_labels_and_identities(prepared):
  truth = prepared["truth"]
  pseudo, agree = 0, 0
  for split, examples in prepared["examples"].items():
    for example, row in zip(examples, prepared["rows"][split]):
      np.testing.assert_array_equal(example["image"][..., 0], truth["images"][row])
      labs_ex = truth["labs_ex"][row, 0]
      assert example["is_labelled"] == (labs_ex != -1)
      if labs_ex != -1:
        np.testing.assert_array_equal(example["labels"], np.eye(7)[labs_ex - 1])
        assert example["identity"] == truth["labs_id"][row, 0]
      else:
        assert example["identity"] == -1  # Identities are not extended to pseudo-labelled images.
        pseudo += 1
        agree += np.argmax(example["labels"]) == truth["true_labs_ex"][row] - 1
  unlabelled = (truth["labs_ex"] == -1).sum()
  assert pseudo > 0.4 * unlabelled  # The fixture's classifier is confident on most of them.
  assert agree >= 0.9 * pseudo


def test_splits_are_disjoint_and_hold_every_labelled_image(prepared):
  rows = [row for split in tfd.SPLITS for row in prepared["rows"][split]]
  assert len(rows) == len(set(rows))
  labelled = set(np.flatnonzero(prepared["truth"]["labs_ex"][:, 0] != -1))
  assert labelled <= set(rows)
  counts = prepared["metadata"]["counts"]
  assert len(rows) == counts["labelled"] + counts["kept_unlabelled"]
  assert counts["labelled"] == len(labelled)


def test_splits_are_80_10_10(prepared):
  sizes = {split: len(prepared["splits"][split]["x"]) for split in tfd.SPLITS}
  total = sum(sizes.values())
  for split, share in SHARES.items():
    assert abs(sizes[split] - share * total) <= 1


def test_each_split_has_the_same_share_of_originally_labelled_images(prepared):
  labelled_rows = prepared["truth"]["labs_ex"][:, 0] != -1
  total_labelled = labelled_rows.sum()
  total = sum(len(rows) for rows in prepared["rows"].values())
  for split, share in SHARES.items():
    rows = prepared["rows"][split]
    labelled = labelled_rows[rows].sum()
    assert abs(labelled - share * total_labelled) <= 2
    assert abs(labelled / len(rows) - total_labelled / total) <= 3 / len(rows)
    assert prepared["metadata"]["counts"][split]["labelled"] == labelled


def test_metadata_holds_the_classifier_accuracy_and_the_counts(prepared):
  metadata = prepared["metadata"]
  assert 0.5 < metadata["classifier_accuracy"] <= 1.0  # Chance is 1/7.
  protocol = tfd.label_and_split(_arrays(prepared["truth"]), tfd.TfdConfig(name="48x48"))
  assert metadata["classifier_accuracy"] == protocol.accuracy  # of the file's own protocol
  for split in tfd.SPLITS:
    counts = metadata["counts"][split]
    labels = prepared["splits"][split]["y"]
    assert counts["total"] == len(labels)
    assert [counts[name] for name in tfd.LABEL_NAMES] == labels.sum(axis=0).astype(int).tolist()


def test_protocol_logs_the_accuracy_and_counts(caplog):
  arrays = _arrays(tfd_fixtures.make_tfd(NUM_IMAGES))
  with caplog.at_level(logging.INFO, logger="absl"):
    protocol = tfd.label_and_split(arrays, tfd.TfdConfig(name="t"))
  assert f"classifier accuracy {protocol.accuracy:.3f}" in caplog.text
  assert (f"{protocol.counts['labelled']} labelled; {protocol.counts['kept_unlabelled']} of "
          f"{protocol.counts['unlabelled']} unlabelled kept at confidence 0.90") in caplog.text
  assert "'validation': {'total'" in caplog.text


def test_confidence_sets_how_many_unlabelled_images_are_kept():
  """Paper 5.2.1: one classifier over the seven expressions, fitted on every labelled image, labels
  the rest; an image is kept with its most probable expression when that is >= the confidence."""
  arrays = _arrays(tfd_fixtures.make_tfd(NUM_IMAGES))
  labelled = arrays.expressions >= 0
  features = pseudo_labels.features(arrays.images)
  kept = []
  for confidence in (0.5, 0.9, 0.99):
    config = tfd.TfdConfig(name="t", confidence=confidence)
    protocol = tfd.label_and_split(arrays, config)
    np.testing.assert_array_equal(protocol.expressions[labelled], arrays.expressions[labelled])
    np.testing.assert_array_equal(protocol.splits == -1, protocol.expressions == -1)
    classifier = pseudo_labels.fit_classifier(features[labelled], arrays.expressions[labelled],
                                              config.pca_components, config.seed)
    probabilities = classifier.predict_proba(features[~labelled])  # [M, 7], a softmax
    expected = np.where(probabilities.max(axis=1) >= confidence,
                        classifier.classes_[np.argmax(probabilities, axis=1)], -1)
    np.testing.assert_array_equal(protocol.expressions[~labelled], expected)
    kept.append(protocol.counts["kept_unlabelled"])
  assert kept[0] > kept[1] > kept[2] > 0


def test_split_is_seeded(monkeypatch):
  fitted, fit = [], pseudo_labels.fit_classifier
  def spy(features, labels, *args):
    fitted.append(features)
    return fit(features, labels, *args)
  monkeypatch.setattr(pseudo_labels, "fit_classifier", spy)
  arrays = _arrays(tfd_fixtures.make_tfd(NUM_IMAGES))
  def protocol(seed):  # and the images its first classifier, the one measured, is fitted on
    fitted.clear()
    return tfd.label_and_split(arrays, tfd.TfdConfig(name="t", seed=seed)), fitted[0]
  (first, first_fit), (again, again_fit), (other, other_fit) = map(protocol, (0, 0, 1))
  np.testing.assert_array_equal(first.splits, again.splits)
  assert first.accuracy == again.accuracy
  assert (first.splits != other.splits).any()
  # The labelled images held out to measure the classifier follow the seed too.
  np.testing.assert_array_equal(first_fit, again_fit)
  assert first_fit.shape == other_fit.shape and (first_fit != other_fit).any()
  # So does the split where the seed changes nothing else (every image kept, none pseudo-labelled).
  kept_all = [tfd.label_and_split(arrays, tfd.TfdConfig(name="t", seed=seed, pseudo_label=False))
              for seed in (0, 1)]
  assert (kept_all[0].splits != kept_all[1].splits).any()


def test_deal_splits_every_stratum_in_the_shares():
  rng = np.random.default_rng(0)
  strata = rng.integers(0, 14, size=2000)
  parts = tfd.deal(strata, (0.8, 0.1, 0.1), np.random.default_rng(1))
  again = tfd.deal(strata, (0.8, 0.1, 0.1), np.random.default_rng(1))
  np.testing.assert_array_equal(parts, again)
  for stratum in range(14):
    in_stratum = strata == stratum
    for part, share in enumerate((0.8, 0.1, 0.1)):
      assert abs((parts[in_stratum] == part).sum() - share * in_stratum.sum()) <= 2
  in_upper_half = strata >= 7  # A run of consecutive strata, as the labelled images are.
  assert abs((parts[in_upper_half] == 2).sum() - 0.1 * in_upper_half.sum()) <= 2
  for size in range(1, 101):  # one stratum of any size: every part within one example of its share
    counts = np.bincount(tfd.deal(np.zeros(size, int), (0.8, 0.1, 0.1), rng), minlength=3)
    assert np.all(np.abs(counts - size * np.array([0.8, 0.1, 0.1])) < 1), size


def test_96x96_config(tmp_path):
  root = tfd_fixtures.write_tfd(str(tmp_path / "manual"), 120, resolution=96)
  splits, _ = tfd.load(root, str(tmp_path / "data"), "96x96")
  for split in splits.values():
    assert split["x"].shape[1:] == (96, 96, 1) and len(split["x"]) > 0


def test_labels_stored_as_double_read_the_same(tmp_path):
  variables = tfd_fixtures.make_tfd(60)
  path = str(tmp_path / "TFD_48x48.mat")
  scipy.io.savemat(path, {"images": variables["images"],
                          **{k: variables[k].astype(np.float64)
                             for k in ("labs_ex", "labs_id", "folds")}})
  arrays = tfd.read_tfd(path, 48)
  expected = _arrays(variables)
  np.testing.assert_array_equal(arrays.images, expected.images)
  np.testing.assert_array_equal(arrays.expressions, expected.expressions)
  np.testing.assert_array_equal(arrays.identities, expected.identities)


def test_user_files_are_not_modified(prepared):
  assert file_snapshot.snapshot(prepared["root"]) == prepared["before"]


@pytest.mark.parametrize("pseudo_label", [True, False])
def test_load_prepares_once(prepared, prepared_all, tmp_path, pseudo_label):
  prepared_dir = os.path.join(prepared["data_dir"], "toronto_faces",
                              "48x48" if pseudo_label else "48x48_all")
  before = file_snapshot.snapshot(prepared_dir)
  splits, _ = tfd.load(str(tmp_path / "no_such_folder"), prepared["data_dir"],
                       pseudo_label=pseudo_label)
  assert file_snapshot.snapshot(prepared_dir) == before
  expected = prepared["splits"] if pseudo_label else prepared_all["splits"]
  for split in tfd.SPLITS:
    np.testing.assert_array_equal(splits[split]["x"], expected[split]["x"])


# User-facing errors: each a one-line message naming the file and the fix.


def _load_fails(manual_dir: str, tmp_path, error: type[Exception], match: str,
                resolution: str = "48x48") -> None:
  with pytest.raises(error, match=match) as raised:
    tfd.load(manual_dir, str(tmp_path / "data"), resolution)
  assert "\n" not in str(raised.value)
  # Nothing half-prepared is left to be mistaken for the dataset.
  assert not os.path.exists(tmp_path / "data" / "toronto_faces" / "48x48" / "1.0.0")


def _write_mat(tmp_path, **variables) -> str:
  """A manual dir holding TFD_48x48.mat with the fixture's variables, replaced by `variables`."""
  root = tmp_path / "manual"
  root.mkdir()
  mat = {k: v for k, v in tfd_fixtures.make_tfd(60).items() if k != "true_labs_ex"}
  mat.update(variables)
  scipy.io.savemat(str(root / "TFD_48x48.mat"), {k: v for k, v in mat.items() if v is not None})
  return str(root)


def test_unknown_resolution(tmp_path):
  with pytest.raises(ValueError, match="Unknown TFD resolution '64x64'; valid: 48x48, 96x96"):
    tfd.load(str(tmp_path), str(tmp_path / "data"), "64x64")


def test_missing_folder(tmp_path):
  _load_fails(str(tmp_path / "nowhere"), tmp_path, FileNotFoundError,
              r"nowhere does not exist: create it and put TFD_48x48.mat there, from the Toronto "
              r"Face Database .* on request")


def test_missing_file(tmp_path):
  root = tfd_fixtures.write_tfd(str(tmp_path / "manual"), 30, resolution=96)
  _load_fails(root, tmp_path, FileNotFoundError,
              r"TFD folder .*manual lacks TFD_48x48.mat: put it there, from the Toronto Face")


def test_v73_file(tmp_path):
  (tmp_path / "manual").mkdir()
  tfd_fixtures.write_v73_stub(str(tmp_path / "manual" / "TFD_48x48.mat"))
  _load_fails(str(tmp_path / "manual"), tmp_path, ValueError,
              r"TFD_48x48.mat is a MATLAB 7.3 \(HDF5\) file, which scipy cannot read: re-save it "
              r"as v7 in MATLAB or Octave: .*save\('-v7', .*'images', 'labs_ex', 'labs_id', "
              r"'folds'\)")


@pytest.mark.parametrize("content", [
    b"<!DOCTYPE html><html><body>Forbidden</body></html>" + b" " * 200, b"", b"\x00" * 200])
def test_file_that_is_not_a_mat(tmp_path, content):
  (tmp_path / "manual").mkdir()
  with open(tmp_path / "manual" / "TFD_48x48.mat", "wb") as f:
    f.write(content)
  _load_fails(str(tmp_path / "manual"), tmp_path, ValueError,
              r"TFD_48x48.mat is not a readable MATLAB file .*get the original TFD file again")


def test_missing_variables(tmp_path):
  root = _write_mat(tmp_path, labs_id=None, folds=None)
  _load_fails(root, tmp_path, ValueError,
              r"TFD_48x48.mat lacks the variables labs_id, folds \(a TFD file holds images, "
              r"labs_ex, labs_id, folds\): use the original TFD file")


@pytest.mark.parametrize("images, shape", [
    (np.zeros((60, 48, 40), np.uint8), r"uint8 \[60, 48, 40\]"),
    (np.zeros((60, 96, 96), np.uint8), r"uint8 \[60, 96, 96\]"),
    (np.zeros((60, 48, 48), np.float64), r"float64 \[60, 48, 48\]"),
])
def test_wrong_images(tmp_path, images, shape):
  root = _write_mat(tmp_path, images=images)
  _load_fails(root, tmp_path, ValueError,
              rf"TFD_48x48.mat: images is {shape}; expected uint8 \[N, 48, 48\]: put the 48x48 "
              r"TFD file under this name")


@pytest.mark.parametrize("variables, match", [
    ({"labs_ex": np.full((59, 1), 1, np.int32)},
     r"labs_ex is int32 \[59, 1\]; expected \[60, 1\] numbers"),
    ({"labs_ex": np.full((60, 1, 1), 1, np.int32)},
     r"labs_ex is int32 \[60, 1, 1\]; expected \[60, 1\] numbers"),
    ({"labs_id": np.array([["7"]] * 60)}, r"labs_id is <U1 \[60, 1\]; expected \[60, 1\] numbers"),
    ({"labs_ex": np.full((60, 1), 8, np.int32)}, r"labs_ex holds \[8\]; expected -1 .* or 1..7"),
    ({"labs_ex": np.full((60, 1), 0, np.int32)}, r"labs_ex holds \[0\]; expected -1 .* or 1..7"),
    ({"labs_id": np.full((60, 1), 0.5)}, r"labs_id holds non-integer values"),
    ({"folds": np.zeros((60, 4), np.int32)}, r"folds is \[60, 4\]; expected \[60, 5\]"),
])
def test_wrong_labels_or_folds(tmp_path, variables, match):
  root = _write_mat(tmp_path, **variables)
  _load_fails(root, tmp_path, ValueError, r"TFD_48x48.mat: " + match + ".*original TFD file")


def test_unlabelled_images_get_no_identity_whatever_the_file_holds(tmp_path):
  labs_ex = tfd_fixtures.make_tfd(60)["labs_ex"]
  root = _write_mat(tmp_path, labs_id=np.where(labs_ex == -1, 0, 1 + np.arange(60)[:, None]))
  splits, _ = tfd.load(root, str(tmp_path / "data"), pseudo_label=False)
  identity = np.concatenate([split["identity"] for split in splits.values()])
  labelled = np.concatenate([split["y_mask"][:, 0] for split in splits.values()]) == 1
  assert len(identity) == 60 and 0 < labelled.sum() < 60
  assert (identity[~labelled] == -1).all() and (identity[labelled] > 0).all()


def test_no_labelled_images(tmp_path):
  root = tfd_fixtures.write_tfd(str(tmp_path / "manual"), 40, labelled_fraction=0.0)
  _load_fails(root, tmp_path, ValueError,
              r"TFD_48x48.mat has no labelled images \(labs_ex is -1 everywhere\)")


def test_one_labelled_expression(tmp_path):
  labs_ex = np.full((60, 1), -1, np.int32)
  labs_ex[:10] = 4
  root = _write_mat(tmp_path, labs_ex=labs_ex)
  _load_fails(root, tmp_path, ValueError,
              r"TFD_48x48.mat labels only the expression happy; the classifier needs two or more")


def test_a_fixed_file_then_loads(tmp_path):
  root = tfd_fixtures.write_tfd(str(tmp_path / "manual"), 60, labelled_fraction=0.0)
  _load_fails(root, tmp_path, ValueError, "has no labelled images")
  tfd_fixtures.write_tfd(root, 60)
  splits, _ = tfd.load(root, str(tmp_path / "data"))
  assert sum(len(split["x"]) for split in splits.values()) > 0


def test_the_labelled_and_the_pseudo_labelled_images_of_each_expression_split_apart():
  """Strata are (originally labelled, expression): each expression's labelled images, and its
  pseudo-labelled ones, are each dealt 80/10/10 to within two images (`deal`'s promise)."""
  arrays = _arrays(tfd_fixtures.make_tfd(NUM_IMAGES))
  is_labelled = arrays.expressions >= 0
  for seed in range(3):
    protocol = tfd.label_and_split(arrays, tfd.TfdConfig(name="t", seed=seed))
    for e in range(len(tfd.LABEL_NAMES)):
      for group in (is_labelled, ~is_labelled):
        members = group & (protocol.expressions == e)
        for index, share in enumerate(SHARES.values()):
          assert abs((protocol.splits[members] == index).sum() - share * members.sum()) <= 2


def test_the_classifier_accuracy_is_measured_on_images_it_did_not_see():
  """With the expressions shuffled among the labelled images, a classifier can only memorise:
  the accuracy reported is near chance (1/7), as on held-out images it must be."""
  arrays = _arrays(tfd_fixtures.make_tfd(NUM_IMAGES))
  labelled = arrays.expressions >= 0
  shuffled = arrays.expressions.copy()
  shuffled[labelled] = np.random.default_rng(0).permutation(shuffled[labelled])
  protocol = tfd.label_and_split(dataclasses.replace(arrays, expressions=shuffled),
                                 tfd.TfdConfig(name="t"))
  assert protocol.accuracy < 0.4  # Measured: 0.185; 0.926 with the true expressions.


def test_the_trainer_evaluates_on_the_examples_eval_examples_gives(tmp_path, monkeypatch):
  """The periodic evaluation and its images read `_eval_examples`' split, not the raw one."""
  kept, seen = {}, []
  def first_examples(dataset):
    kept["split"] = {k: v[:64] for k, v in dataset.splits["test"].items()}
    return kept["split"]
  def record(eval_step, state, split, *args):
    del eval_step, state, args
    seen.append(split)
    return {"loss": 0.0}
  monkeypatch.setattr(trainer, "_eval_examples", first_examples)
  monkeypatch.setattr(trainer, "_evaluate", record)
  config = tiny.get_config()
  config.train.num_steps, config.train.eval_every, config.train.ckpt_every = 100, 100, 100
  trainer.train_and_evaluate(config, str(tmp_path))
  assert seen and all(split is kept["split"] for split in seen)
