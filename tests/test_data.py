"""The swiss roll as docs/design.md#data defines it."""

import numpy as np
import pytest

from csvae_jax import data as data_lib
from csvae_jax.data import swiss_roll


def test_swiss_roll_labels_split_the_height_in_half(config):
  splits = data_lib.load_dataset(config.data).splits
  for split, size in (("train", config.data.num_train), ("test", config.data.num_test)):
    x, y = splits[split]["x"], splits[split]["y"]
    assert x.shape == (size, 3) and y.shape == (size, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], (x[:, 1] > 10).astype(np.float32))
    assert 0.0 <= x[:, 1].min() and x[:, 1].max() <= 21.0
    assert 0.4 < y.mean() < 0.6
  assert not np.isin(splits["train"]["x"][:, 0], splits["test"]["x"][:, 0]).any()


def test_swiss_roll_is_reproducible():
  a, b = swiss_roll.load(100, 10, seed=3), swiss_roll.load(100, 10, seed=3)
  np.testing.assert_array_equal(a["train"]["x"], b["train"]["x"])
  assert not np.array_equal(a["train"]["x"], swiss_roll.load(100, 10, seed=4)["train"]["x"])


def test_unknown_dataset_lists_the_valid_ones(config):
  config.data.name = "swissroll"
  with pytest.raises(ValueError, match="Unknown dataset 'swissroll'; valid names: swiss_roll"):
    data_lib.load_dataset(config.data)


@pytest.mark.parametrize("name", ["celeba", "tfd"])
def test_user_supplied_datasets_need_their_folder(config, name):
  config.data.name = name
  with pytest.raises(ValueError, match=f"manual_dir is empty: pass --config.data.manual_dir=/path/to/{name}"):
    data_lib.load_dataset(config.data)


def test_celeba_through_the_registry(config, tmp_path):
  import celeba_fixtures  # pylint: disable=g-import-not-at-top
  config.data.name = "celeba"
  config.data.subset = "glasses"
  config.data.manual_dir = celeba_fixtures.write_celeba(str(tmp_path / "files"), 60)
  config.data.data_dir = str(tmp_path / "prepared")
  dataset = data_lib.load_dataset(config.data)
  assert dataset.label_names == ("Eyeglasses",) and not dataset.standardise
  assert set(dataset.splits) == {"train", "validation", "test"}
  assert dataset.splits["train"]["x"].shape[1:] == (64, 64, 3)
  for split in dataset.splits.values():
    np.testing.assert_array_equal(split["y_mask"], np.ones_like(split["y"]))
