"""Procedural faces: factors match labels, faces re-render, attributes stay in their regions."""

import numpy as np
import pytest

from bench import measure
from configs import tiny
from configs import tiny_images
from csvae_jax import data as data_lib
from csvae_jax.data import procedural
from file_snapshot import snapshot

NAMES = procedural.LABEL_NAMES


@pytest.fixture(scope="module")
def faces():
  """300 faces (more than one rendering chunk) of 75 people at 64x64."""
  return procedural.make_split(300, seed=2)


def _with(split, name, present, style=None, params=None):
  """The split's faces re-rendered with `name` set to present (and style, params) on all of them."""
  attributes = procedural.attribute_factors(split)
  attributes[name][:] = present
  if style is not None:
    attributes[f"{name}_style"][:] = style
  if params is not None:
    attributes[f"{name}_params"][:] = params
  return procedural.rerender(split, attributes).astype(np.int32)


def _clearly_changed(a, b):
  """Per face, the pixels where some channel moved by more than 40 of 255: [N]."""
  return (np.abs(a - b).max(axis=-1) > 40).sum(axis=(1, 2))


def test_split_keys_dtypes_shapes_and_ranges():
  split = procedural.make_split(48, seed=0, image_size=32)
  assert split["x"].shape == (48, 32, 32, 3) and split["x"].dtype == np.uint8
  assert split["x"].std() > 20  # faces, not a blank canvas
  assert split["y"].shape == (48, 3) and split["y"].dtype == np.float32
  assert set(np.unique(split["y"])) == {0.0, 1.0}
  # 12 people (48 // 4), each dealt 4 examples that share every identity factor.
  assert split["identity"].dtype == np.int32
  np.testing.assert_array_equal(np.bincount(split["identity"]), np.full(12, 4))
  for name, factor in procedural.identity_factors(split).items():
    assert factor.shape[0] == 48, name
    for person in range(12):
      rows = factor[split["identity"] == person]
      np.testing.assert_array_equal(rows, np.broadcast_to(rows[0], rows.shape), err_msg=name)
    if name == "hair_style":
      assert factor.dtype == np.int32
      assert set(factor) == set(range(procedural.NUM_HAIR_STYLES))  # every style among 12 people
    else:
      assert factor.dtype == np.float32 and 0 <= factor.min() and factor.max() <= 1, name
  assert split["factor/background"].shape == (48, 3)
  for i, name in enumerate(NAMES):
    np.testing.assert_array_equal(split["y"][:, i], split[f"factor/{name}"])
    style, params = split[f"factor/{name}_style"], split[f"factor/{name}_params"]
    assert style.dtype == np.int32
    assert 0 <= style.min() and style.max() < procedural.NUM_STYLES[name]
    assert params.dtype == np.float32 and params.shape == (48, procedural.NUM_PARAMS)
    assert 0 <= params.min() and params.max() <= 1


def test_num_identities_is_honoured():
  split = procedural.make_split(10, seed=0, image_size=16, num_identities=3)
  np.testing.assert_array_equal(np.sort(np.bincount(split["identity"])), [3, 3, 4])


def test_same_seed_same_split_other_seed_other_split():
  a = procedural.make_split(8, seed=3, image_size=32)
  b = procedural.make_split(8, seed=3, image_size=32)
  assert a.keys() == b.keys()
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
  c = procedural.make_split(8, seed=4, image_size=32)
  assert not np.array_equal(a["x"], c["x"])
  assert not np.array_equal(a["factor/skin_tone"], c["factor/skin_tone"])


def test_attributes_are_independent_of_identity_and_of_each_other():
  attributes = procedural.sample_attributes(np.random.default_rng(0), 20_000)
  present = np.stack([attributes[name] for name in NAMES], 1)
  np.testing.assert_allclose(present.mean(0), 0.5, atol=0.02)
  both = (present[:, 0] == 1) & (present[:, 1] == 1)  # Eyeglasses and Facial_Hair co-occur.
  assert abs(both.mean() - 0.25) < 0.02
  assert abs(procedural.sample_attributes(np.random.default_rng(0), 20_000, 0.2)["Smiling"].mean()
             - 0.2) < 0.02
  for name in NAMES:
    counts = np.bincount(attributes[f"{name}_style"], minlength=procedural.NUM_STYLES[name])
    np.testing.assert_allclose(counts / 20_000, 1 / len(counts), atol=0.02)
  # The same person shows up both with and without each attribute, so identity cannot tell it.
  split = procedural.make_split(400, seed=1, image_size=8)
  for i, name in enumerate(NAMES):
    rate = np.bincount(split["identity"], weights=split["y"][:, i]) / 4
    assert ((rate > 0) & (rate < 1)).mean() > 0.7, name
  assert ((split["y"][:, 0] == 1) & (split["y"][:, 1] == 1)).sum() > 50


def test_load_is_deterministic_cached_and_identities_are_disjoint(tmp_path):
  a = procedural.load(20, 8, 12, seed=1, image_size=16)
  b = procedural.load(20, 8, 12, seed=1, image_size=16, cache_dir=str(tmp_path))
  written = snapshot(str(tmp_path))
  c = procedural.load(20, 8, 12, seed=1, image_size=16, cache_dir=str(tmp_path))  # from cache
  assert len(written) == 3 and snapshot(str(tmp_path)) == written  # read, not written again
  for name in ("train", "validation", "test"):
    for key in a[name]:
      np.testing.assert_array_equal(a[name][key], b[name][key], err_msg=key)
      np.testing.assert_array_equal(a[name][key], c[name][key], err_msg=key)
  assert [len(a[name]["x"]) for name in a] == [20, 8, 12]
  other = procedural.load(20, 8, 12, seed=2, image_size=16, cache_dir=str(tmp_path))
  assert len(list(tmp_path.iterdir())) == 6  # Another seed has files of its own.
  assert not np.array_equal(other["train"]["x"], a["train"]["x"])
  # Each split draws its own people from its own stream: no identity, and no value of any
  # identity factor, is shared between them.
  for key in ("identity", *(f"factor/{f}" for f in procedural.IDENTITY_FACTORS)):
    values = [set(a[name][key].reshape(-1).tolist()) for name in a]
    for i in range(3):
      for j in range(i + 1, 3):
        assert not values[i] & values[j], (key, i, j)


def test_painting_each_feature_on_its_band_of_rows_changes_no_pixel(monkeypatch):
  """The renderer paints each feature on the rows of its band only (plus two rows of
  anti-aliasing each side), for speed: painting every row gives the same images."""
  rng = np.random.default_rng(0)
  identities, attributes = (procedural.sample_identities(rng, 300),
                            procedural.sample_attributes(rng, 300))
  for size in (32, 64):
    banded = procedural.render(identities, attributes, size)
    with monkeypatch.context() as patch:
      patch.setattr(procedural, "_rows", lambda size, lo, hi: slice(0, size))
      np.testing.assert_array_equal(procedural.render(identities, attributes, size), banded)


def test_rendering_is_a_pure_function_of_the_factors(faces):
  before = {key: value.copy() for key, value in faces.items()}
  procedural.rerender_switched(faces, "Eyeglasses", True)  # edits copies of the factors
  for key, value in before.items():
    np.testing.assert_array_equal(faces[key], value, err_msg=key)
  np.testing.assert_array_equal(
      procedural.rerender(faces, procedural.attribute_factors(faces)), faces["x"])
  # Another order (so other rendering chunks and windows) gives the same faces.
  order = np.arange(len(faces["x"]))[::-1]
  shuffled = {key: value[order] for key, value in faces.items()}
  np.testing.assert_array_equal(
      procedural.rerender(shuffled, procedural.attribute_factors(shuffled)), faces["x"][order])
  # The size is only the rendering's: the same seed at 32x32 draws the same faces.
  small = procedural.make_split(300, seed=2, image_size=32)
  np.testing.assert_array_equal(
      procedural.rerender(faces, procedural.attribute_factors(faces), image_size=32), small["x"])


@pytest.mark.parametrize("name", NAMES)
def test_the_true_edit_switches_the_attribute_on_or_off_and_keeps_the_rest(faces, name):
  """`rerender_switched`, the ground truth of target-changed: the faces that already are as asked
  come back as they were, the others as re-rendered with the attribute switched."""
  j = NAMES.index(name)
  for on in (True, False):
    truth = procedural.rerender_switched(faces, name, on)
    already = faces["y"][:, j] == on
    assert 0 < already.mean() < 1
    np.testing.assert_array_equal(truth[already], faces["x"][already])
    np.testing.assert_array_equal(truth, _with(faces, name, int(on)))


@pytest.mark.parametrize("name", NAMES)
def test_an_attribute_changes_pixels_only_in_its_region(faces, name):
  regions = procedural.attribute_regions(procedural.identity_factors(faces))
  assert regions[name].shape == (300, 64, 64) and regions[name].dtype == bool
  assert regions[name].mean() < 0.3  # a part of the face, not the whole image
  off = _with(faces, name, 0)
  reached = np.zeros_like(regions[name])
  for style in range(procedural.NUM_STYLES[name]):
    for params in (None, 1.0):  # the faces' own params, then the largest shapes
      on = _with(faces, name, 1, style, params)
      changed = np.any(on != off, axis=-1)
      assert not (changed & ~regions[name]).any(), (style, params)
      assert _clearly_changed(on, off).min() >= 10, (style, params)  # visible on every face
      reached |= changed
  # The region is not much larger than what the attribute reaches.
  assert (reached.sum(axis=(1, 2)) / regions[name].sum(axis=(1, 2))).min() > 0.3


def test_each_style_looks_different_and_params_vary_within_it(faces):
  for name in NAMES:
    renders = [_with(faces, name, 1, style) for style in range(procedural.NUM_STYLES[name])]
    for i in range(len(renders)):
      for j in range(i + 1, len(renders)):
        assert _clearly_changed(renders[i], renders[j]).min() >= 10, (name, i, j)
  few = {key: value[:40] for key, value in faces.items()}
  for name in NAMES:
    for style in range(procedural.NUM_STYLES[name]):
      for k, unit in enumerate(np.eye(procedural.NUM_PARAMS, dtype=np.float32)):
        low, high = _with(few, name, 1, style, 0 * unit), _with(few, name, 1, style, unit)
        assert np.any(low != high, axis=-1).sum(axis=(1, 2)).min() >= 5, (name, style, k)


def test_a_face_without_a_smile_keeps_a_closed_mouth(faces):
  """Not smiling is a neutral line in the lips' colour, not a face without a mouth."""
  regions = procedural.attribute_regions(procedural.identity_factors(faces))["Smiling"]
  off = _with(faces, "Smiling", 0)
  lip_red = (off[..., 0] - off[..., 1] > 90) & regions  # Skin and beards are less red.
  assert lip_red.sum(axis=(1, 2)).min() >= 5


@pytest.mark.parametrize("get_config", [tiny.get_config, tiny_images.get_config])
def test_the_benchmarks_shape_of_the_data_is_the_loaders(get_config, tmp_path):
  config = get_config()
  config.data.data_dir = str(tmp_path)
  dataset = data_lib.load_dataset(config.data)
  assert measure.data_shape(config) == (dataset.splits["train"]["x"].shape[1:],
                                        len(dataset.label_names))


def test_the_benchmarks_refuse_a_dataset_they_have_no_shape_for():
  config = tiny.get_config()
  config.data.name = "mnist"
  with pytest.raises(ValueError, match="No benchmark shape for config.data.name='mnist'"):
    measure.data_shape(config)
