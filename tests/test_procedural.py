"""The procedural faces: labels match factors, identities re-render, attributes stay in place."""

import numpy as np

from csvae_jax.data import procedural


def test_split_shapes_dtypes_and_labels():
  split = procedural.make_split(64, seed=0, image_size=32)
  assert split["x"].shape == (64, 32, 32, 3) and split["x"].dtype == np.uint8
  assert split["y"].shape == (64, 3) and split["y"].dtype == np.float32
  for i, name in enumerate(procedural.LABEL_NAMES):
    np.testing.assert_array_equal(split["y"][:, i], split[f"factor/{name}"])
    assert set(np.unique(split[f"factor/{name}_style"])) <= set(range(procedural.NUM_STYLES[name]))
  assert split["identity"].dtype == np.int32 and len(np.unique(split["identity"])) > 1
  both = (split["y"][:, 0] == 1) & (split["y"][:, 1] == 1)
  assert both.any()  # Eyeglasses and Facial_Hair co-occur.
  assert 0.3 < split["y"].mean() < 0.7


def test_same_seed_same_data_and_splits_draw_their_own_people(tmp_path):
  a = procedural.load(20, 10, 10, seed=1, image_size=32)
  b = procedural.load(20, 10, 10, seed=1, image_size=32, cache_dir=str(tmp_path))
  c = procedural.load(20, 10, 10, seed=1, image_size=32, cache_dir=str(tmp_path))  # from cache
  for split in a:
    for key in a[split]:
      np.testing.assert_array_equal(a[split][key], b[split][key])
      np.testing.assert_array_equal(a[split][key], c[split][key])
  assert not np.array_equal(a["train"]["factor/skin"][:10], a["test"]["factor/skin"])


def _switch(split, name, value, style=None):
  attributes = procedural.attribute_factors(split)
  attributes[name][:] = value
  if style is not None:
    attributes[f"{name}_style"][:] = style
  return procedural.rerender(split, attributes)


def test_rerendering_reproduces_and_switching_changes_only_the_attribute_region():
  split = procedural.make_split(32, seed=2)
  np.testing.assert_array_equal(
      procedural.rerender(split, procedural.attribute_factors(split)), split["x"])
  regions = procedural.attribute_regions(procedural.identity_factors(split))
  for name in procedural.LABEL_NAMES:
    off, on = _switch(split, name, 0), _switch(split, name, 1)
    changed = np.any(off != on, axis=-1)
    assert changed.sum(axis=(1, 2)).min() > 12, name  # visible on every face
    assert (changed & regions[name]).sum() > 0.9 * changed.sum(), name


def test_styles_of_an_attribute_differ_on_the_same_face():
  split = procedural.make_split(8, seed=3)
  for name in procedural.LABEL_NAMES:
    renders = [_switch(split, name, 1, style).astype(np.float32)
               for style in range(procedural.NUM_STYLES[name])]
    for i in range(len(renders)):
      for j in range(i + 1, len(renders)):
        assert np.abs(renders[i] - renders[j]).mean(axis=(1, 2, 3)).min() > 0.5, (name, i, j)
