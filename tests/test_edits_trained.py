"""Attribute switching (paper 4.3) on a CSVAE briefly trained on 32x32 procedural faces.

The generator's ground truth judges the edits: `procedural.attribute_regions` says where each
attribute can change pixels, and probes fitted on real faces read the style of an edited one.
One module-scoped CSVAE, 500 steps on 2,048 faces: the file takes about a minute on two CPU cores.
"""

import numpy as np
import pytest
from sklearn import linear_model

from configs import tiny_images
import csvae_jax
from csvae_jax import data as data_lib
from csvae_jax import switching
from csvae_jax import trainer
from csvae_jax.data import procedural

IMAGE_SIZE = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """(TrainedModel, split of 256 unseen faces, their reconstructions [256, 32, 32, 3] in [0, 1])."""
  root = tmp_path_factory.mktemp("edits_trained")
  config = tiny_images.get_config()
  config.data.data_dir = str(root / "data")
  config.data.num_train, config.data.num_validation, config.data.num_test = 2048, 256, 64
  config.model.conv_channels = (16, 32, 64)
  config.model.z_dim = 16
  config.train.num_steps, config.train.batch_size = 500, 64
  config.train.log_every = config.train.eval_every = config.train.ckpt_every = 500
  for player in ("vae", "adversary"):
    config.optim[player].learning_rate = 4e-3
    config.optim[player].warmup_steps = 50
  config.eval.probe_max_train = 1024
  config.eval.max_examples = 256
  trainer.train_and_evaluate(config, str(root / "csvae"))
  model = csvae_jax.load(str(root / "csvae"))
  split = procedural.make_split(256, seed=123, image_size=IMAGE_SIZE)
  return model, split, model.reconstruct(split["x"], split["y"])


def _regions(split, mask):
  """attribute_regions of the faces of `split` selected by `mask`: {name: bool [n, S, S]}."""
  regions = procedural.attribute_regions(procedural.identity_factors(split), IMAGE_SIZE)
  return {name: region[mask] for name, region in regions.items()}


def _change(a, b):
  """Per-pixel absolute difference of images [..., S, S, 3], summed over channels: [..., S, S]."""
  return np.abs(a - b).sum(-1)


def test_reconstructions_beat_the_mean_image(trained):
  _, split, recon = trained
  x = split["x"] / 255.0
  mse, mean_image = np.mean((recon - x) ** 2), np.mean((x - x.mean(0)) ** 2)
  assert mse < 0.4 * mean_image  # measured 0.29 to 0.30 of it (seeds 0 to 2)


@pytest.mark.parametrize("name", ["Eyeglasses", "Facial_Hair"])
def test_switching_on_changes_mostly_the_attributes_region(trained, name):
  model, split, recon = trained
  absent = split["y"][:, procedural.LABEL_NAMES.index(name)] == 0
  edited = csvae_jax.switch_attribute(model, split["x"][absent] / 255.0, split["y"][absent], name)
  change = _change(edited, recon[absent])  # [n, S, S]
  region = _regions(split, absent)[name]
  inside, area = change[region].sum() / change.sum(), region.mean()
  # Measured (config.seed 0, 1, 2): the share of the change inside, over the region's share of
  # the area, 2.37, 2.40, 2.33 (Eyeglasses) and 2.09, 2.11, 2.11 (Facial_Hair).
  assert inside > 1.6 * area, (inside, area)


def _probe(x, target):
  """A linear classifier of target [N] on the flattened pixels of x [N, S, S, 3] (uint8)."""
  return linear_model.RidgeClassifier(alpha=10.0).fit(_flat(x), target)


def _flat(x):
  """Images [..., S, S, 3] (uint8 or [0, 1]) -> float32 [N, S * S * 3] in [0, 1]."""
  x = np.asarray(x)
  x = x / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32)
  return x.reshape(-1, np.prod(x.shape[-3:]))


@pytest.mark.parametrize("name", ["Eyeglasses", "Facial_Hair"])
def test_points_of_w_give_different_ground_truth_styles(trained, name):
  model, split, _ = trained
  j = procedural.LABEL_NAMES.index(name)
  splits = data_lib.load_dataset(model.config.data).splits
  train, held_out = splits["train"], splits["validation"]
  has = train["y"][:, j] == 1
  style = _probe(train["x"][has], train[f"factor/{name}_style"][has])
  present = _probe(train["x"], train["y"][:, j])
  held_has = held_out["y"][:, j] == 1
  style_accuracy = style.score(_flat(held_out["x"][held_has]),
                               held_out[f"factor/{name}_style"][held_has])
  present_accuracy = present.score(_flat(held_out["x"]), held_out["y"][:, j])
  # Measured: style 0.99 (Eyeglasses), 1.0 (Facial_Hair); presence 1.0; chance 1/3 and 1/2.
  assert style_accuracy > 0.9 and present_accuracy > 0.95, (style_accuracy, present_accuracy)

  faces = np.flatnonzero(split["y"][:, j] == 0)[:32]
  grid = switching.w_grid(model, 5)
  edits = csvae_jax.switch_attribute(model, split["x"][faces], split["y"][faces], name,
                                     point=grid)  # [25, 32, S, S, 3]
  # Points whose edits mostly lack the attribute would get a style from a probe that never saw
  # such faces: only points where the presence probe sees the attribute on 80% of faces count,
  # and a point reaches the style that most of the faces (more than half) show there.
  shown = present.predict(_flat(edits)).reshape(len(grid), len(faces)).mean(1) >= 0.8
  counts = np.stack([np.bincount(s, minlength=procedural.NUM_STYLES[name]) for s in
                     style.predict(_flat(edits)).reshape(len(grid), len(faces))])
  majority, share = counts.argmax(1), counts.max(1) / len(faces)
  # Measured (seeds 0 to 2): 13 to 21 points count; Eyeglasses reaches square rims and
  # sunglasses, Facial_Hair two styles. How many faces share the rarer style at its best
  # point depends on the CPU's floating point (after 1,000 steps: 94% to 100% on one CPU, 50% to
  # 75% for Facial_Hair on seed 0 on an AVX-512 one). An edit that ignored the point would reach
  # one style.
  styles = set(majority[shown & (share > 0.5)].tolist())
  assert len(styles) >= 2, (shown, majority, share)


def test_joint_edit_agrees_with_the_eyeglasses_edit_outside_the_smiling_region(trained):
  model, split, recon = trained
  glasses, smiling = (procedural.LABEL_NAMES.index(n) for n in ("Eyeglasses", "Smiling"))
  faces = (split["y"][:, glasses] == 0) & (split["y"][:, smiling] == 0)
  x, y, recon = split["x"][faces] / 255.0, split["y"][faces], recon[faces]
  joint = csvae_jax.switch_attribute(model, x, y, ["Eyeglasses", "Smiling"], on=[True, True])
  single = csvae_jax.switch_attribute(model, x, y, "Eyeglasses")
  regions = _regions(split, faces)
  only = regions["Eyeglasses"] & ~regions["Smiling"]
  ratio = _change(joint, single)[only].mean() / _change(single, recon)[only].mean()
  # Measured (seeds 0, 1, 2): 0.19, 0.19, 0.20. The converse, in the Smiling region outside the
  # Eyeglasses one, does not hold after this training (0.79, 0.92 for seeds 0, 1): the Eyeglasses
  # edit alone changes those pixels about as much as the Smiling edit does.
  assert ratio < 0.35, ratio
