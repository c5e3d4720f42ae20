"""switch_attribute on briefly trained procedural-image models of all four kinds."""

import json
import os

import numpy as np
import pytest

from configs import tiny_images
import csvae_jax
from csvae_jax import manipulate
from csvae_jax import models
from csvae_jax import trainer
from csvae_jax.data import procedural


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """{kind: TrainedModel} after 20 steps on 32x32 procedural faces, plus a test split."""
  root = tmp_path_factory.mktemp("manipulate")
  out = {}
  for kind in models.KINDS:
    config = tiny_images.get_config()
    config.model.kind = kind
    config.data.data_dir = str(root / "data")
    trainer.train_and_evaluate(config, str(root / kind))
    out[kind] = csvae_jax.load(str(root / kind))
  split = procedural.make_split(6, seed=9, image_size=32)
  return out, split


@pytest.mark.parametrize("kind", models.KINDS)
def test_every_kind_returns_images_like_its_input(trained, kind):
  models_by_kind, split = trained
  model = models_by_kind[kind]
  x, y = split["x"], split["y"]
  edited = csvae_jax.switch_attribute(model, x, y, "Eyeglasses")
  assert edited.shape == x.shape and edited.dtype == np.uint8
  as_float = csvae_jax.switch_attribute(model, x[0] / 255.0, y[0], 0, on=False)
  assert as_float.shape == x.shape[1:] and as_float.dtype != np.uint8
  assert 0.0 <= as_float.min() and as_float.max() <= 1.0
  two = csvae_jax.switch_attribute(model, x, y, ["Eyeglasses", "Facial_Hair"], on=[True, False])
  assert two.shape == x.shape


def test_csvae_points_batch_and_identity_edit(trained):
  models_by_kind, split = trained
  model = models_by_kind["csvae"]
  x, y = split["x"] / 255.0, split["y"]
  grid = np.array([[3.0, 3.0], [0.0, 5.0], [5.0, 0.0]])
  edited = csvae_jax.switch_attribute(model, x, y, "Smiling", point=grid)
  assert edited.shape == (3, *x.shape)
  assert not np.allclose(edited[1], edited[2])
  # Setting w_j to its own encoding reproduces the reconstruction.
  w = model.encode(x[:1], y[:1])["w_mu"].reshape(3, 2)
  same = csvae_jax.switch_attribute(model, x[:1], y[:1], "Smiling", point=w[2])
  np.testing.assert_allclose(same, model.reconstruct(x[:1], y[:1]), atol=1e-5)


def test_condvae_range_of_p(trained):
  models_by_kind, split = trained
  edited = csvae_jax.switch_attribute(models_by_kind["condvae"], split["x"], split["y"],
                                      "Eyeglasses", point=np.linspace(0.0, 3.0, 4))
  assert edited.shape == (4, *split["x"].shape)


def test_vae_scales_its_mean_shift(trained):
  models_by_kind, split = trained
  model = models_by_kind["vae"]
  x, y = split["x"] / 255.0, split["y"]
  edited = csvae_jax.switch_attribute(model, x, y, "Eyeglasses", point=np.array([0.0, 1.0]))
  assert edited.shape == (2, *x.shape)
  np.testing.assert_allclose(edited[0], model.reconstruct(x, y), atol=1e-5)  # t = 0: no shift
  np.testing.assert_allclose(edited[1], csvae_jax.switch_attribute(model, x, y, "Eyeglasses"),
                             atol=1e-5)  # t = 1: the default
  points = manipulate.switch_points(model)["z_mean"][0]  # Eyeglasses: [2, Dz]
  z = model.encode(x, y)["z_mu"] + 2.0 * (np.array(points[1]) - np.array(points)[
      y[:, 0].astype(int)])
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, x, y, 0, point=2.0),
                             model.decode(z), atol=1e-5)


def test_kinds_figure_shows_every_kind(trained, tmp_path):
  models_by_kind, split = trained
  manipulate.kinds_figure(models_by_kind, split, "Eyeglasses", str(tmp_path / "kinds.png"),
                          num_points=3)
  assert (tmp_path / "kinds.png").stat().st_size > 10_000


def test_default_points_are_computed_once_and_kept_in_the_workdir(trained):
  model = trained[0]["csvae"]
  points = manipulate.switch_points(model)
  with open(os.path.join(model.workdir, manipulate.SWITCH_POINTS_FILE)) as f:
    assert json.load(f) == points
  assert points["step"] == model.step and len(points["w_present"]) == 3
  assert np.array(points["z_mean"]).shape == (3, 2, 4)


def test_unknown_attribute_lists_the_valid_ones(trained):
  models_by_kind, split = trained
  with pytest.raises(ValueError, match="Unknown attribute 'Glasses'; this model knows Eyeglasses, "
                                       "Facial_Hair, Smiling"):
    csvae_jax.switch_attribute(models_by_kind["vae"], split["x"], split["y"], "Glasses")


def test_edit_command_writes_a_grid_and_rejects_other_sizes(trained, tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  models_by_kind, split = trained
  workdir = models_by_kind["csvae"].workdir
  Image.fromarray(split["x"][0]).save(tmp_path / "face.png")
  Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / "small.png")
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  def edit(image):
    return subprocess.run([sys.executable, "-m", "csvae_jax.edit", "--workdir", workdir, "--image",
                           str(tmp_path / image), "--attribute", "Eyeglasses", "--grid", "3",
                           "--out", str(tmp_path / "edits.png")], cwd=repo, capture_output=True,
                          text=True, timeout=120, check=False)
  result = edit("face.png")
  assert result.returncode == 0, result.stderr[-2000:]
  assert Image.open(tmp_path / "edits.png").size == (4 * 32, 3 * 32)
  result = edit("small.png")
  assert result.returncode != 0 and "is 30x40; this model takes 32x32 images" in result.stderr
