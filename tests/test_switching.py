"""switch_attribute on briefly trained procedural-image models of all four kinds."""

import dataclasses
import os
import subprocess
import sys

import ml_collections
import numpy as np
from PIL import Image
import pytest

from configs import tiny_images
import csvae_jax
from csvae_jax import data as data_lib
from csvae_jax import paper_figures
from csvae_jax import plots
from csvae_jax import switching
from csvae_jax import models
from csvae_jax import trainer
from csvae_jax.data import procedural


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """{kind: TrainedModel} after 20 steps on 32x32 procedural faces, plus a test split."""
  root = tmp_path_factory.mktemp("switching")
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
  ps = np.linspace(0.0, 3.0, 4)
  edited = csvae_jax.switch_attribute(models_by_kind["condvae"], split["x"], split["y"],
                                      "Eyeglasses", point=ps)
  assert edited.shape == (4, *split["x"].shape)
  for p, image in zip(ps, edited):  # each p's edit, in order
    np.testing.assert_array_equal(image, csvae_jax.switch_attribute(
        models_by_kind["condvae"], split["x"], split["y"], "Eyeglasses", point=p))


def test_vae_scales_its_mean_shift(trained):
  models_by_kind, split = trained
  model = models_by_kind["vae"]
  x, y = split["x"] / 255.0, split["y"]
  edited = csvae_jax.switch_attribute(model, x, y, "Eyeglasses", point=np.array([0.0, 1.0]))
  assert edited.shape == (2, *x.shape)
  np.testing.assert_allclose(edited[0], model.reconstruct(x, y), atol=1e-5)  # t = 0: no shift
  np.testing.assert_allclose(edited[1], csvae_jax.switch_attribute(model, x, y, "Eyeglasses"),
                             atol=1e-5)  # t = 1: the default
  points = switching.switch_points(model).z_mean[0]  # Eyeglasses: [2, Dz]
  z = model.encode(x, y)["z_mu"] + 2.0 * (np.array(points[1]) - np.array(points)[
      y[:, 0].astype(int)])
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, x, y, 0, point=2.0),
                             model.decode(z), atol=1e-5)
  # Switching off shifts towards the mean of the examples without the attribute.
  z = model.encode(x, y)["z_mu"] + 2.0 * (np.array(points[0]) - np.array(points)[
      y[:, 0].astype(int)])
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, x, y, 0, on=False, point=2.0),
                             model.decode(z), atol=1e-5)
  # Two attributes switched on together: both shifts, added.
  z = model.encode(x, y)["z_mu"]
  for j in (0, 1):
    points = np.array(switching.switch_points(model).z_mean[j])
    z = z + points[1] - points[y[:, j].astype(int)]
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, x, y, ["Eyeglasses", 1]),
                             model.decode(z), atol=1e-5)


def _float_split(trained):
  split = trained[1]
  return split["x"] / 255.0, split["y"].astype(np.float32)


@pytest.mark.parametrize("kind", ["condvae", "condvae_info"])
def test_conditional_kinds_decode_with_the_label_set_to_p(trained, kind):
  model = trained[0][kind]
  x, y = _float_split(trained)
  z = model.encode(x, y)["z_mu"]
  def decoded_with(labels):
    return model.decode(z, y=labels)
  for point, on, value in [(0.7, True, 0.7), (2.5, False, 2.5), (None, True, 1.0),
                           (None, False, 0.0)]:
    labels = y.copy()
    labels[:, 2] = value
    np.testing.assert_allclose(
        csvae_jax.switch_attribute(model, x, y, "Smiling", on=on, point=point),
        decoded_with(labels), atol=1e-5, err_msg=f"point={point}, on={on}")
  # Exclusive labels (TFD): the target class alone is on.
  labels = np.zeros_like(y)
  labels[:, 1] = 1.0
  np.testing.assert_allclose(
      csvae_jax.switch_attribute(model, x, y, "Facial_Hair", exclusive=True), decoded_with(labels),
      atol=1e-5)
  # Switching a face to the label it has is its reconstruction, which decodes with the labels
  # given: the same faces labelled otherwise reconstruct differently.
  bearded = y[:, 1] == 1
  assert 0 < bearded.sum() < len(y)
  for faces, on in [(bearded, True), (~bearded, False)]:
    np.testing.assert_allclose(
        csvae_jax.switch_attribute(model, x[faces], y[faces], "Facial_Hair", on=on),
        model.reconstruct(x[faces], y[faces]), atol=1e-5)
  assert np.abs(model.reconstruct(x, 1.0 - y) - model.reconstruct(x, y)).max() > 1e-3


def test_csvae_decodes_with_w_j_set_to_the_point(trained):
  model = trained[0]["csvae"]
  # The absent prior moved off the origin (a prior, not a parameter: the same network), so that
  # switching off is seen to reach its mean.
  model = dataclasses.replace(model, spec=dataclasses.replace(model.spec, w_absent_mean=-0.5))
  x, y = _float_split(trained)
  latents = model.encode(x, y)
  w = latents["w_mu"].reshape(len(x), 3, 2)
  default = switching.switch_points(model).w_densest[0]
  paper = switching.paper_point(model, 0, True)
  assert np.abs(default - paper).max() > 1e-3  # the densest encoding is not the mean
  absent = model.spec.w_absent_mean
  def decoded_with(w_new):
    return model.decode(latents["z_mu"], w=w_new.reshape(len(x), 6))
  # `on` as a Python bool or a numpy one (an element of an array of them).
  for point, on, value in [([1.5, 4.5], True, [1.5, 4.5]), (None, True, default),
                           (paper, True, paper), (None, np.False_, [absent, absent])]:
    w_new = w.copy()
    w_new[:, 0] = value
    np.testing.assert_allclose(
        csvae_jax.switch_attribute(model, x, y, "Eyeglasses", on=on, point=point),
        decoded_with(w_new), atol=1e-5, err_msg=f"point={point}, on={on}")
  # Exclusive labels (TFD): every other W_i at the absent prior's mean.
  w_new = np.full_like(w, absent)
  w_new[:, 0] = default
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, x, y, "Eyeglasses", exclusive=True),
                             decoded_with(w_new), atol=1e-5)


def test_vae_exclusive_switch_shifts_from_the_mean_of_the_class(trained):
  model = trained[0]["vae"]
  x, y = _float_split(trained)
  y[:, :] = np.eye(3, dtype=np.float32)[np.arange(len(y)) % 3]  # one class per face
  z_mean = switching.switch_points(model).z_mean  # [k, 2, Dz]
  shift = z_mean[2, 1] - z_mean[y.argmax(1), 1]  # to Smiling's mean from each face's class mean
  expected = model.decode(model.encode(x, y)["z_mu"] + 1.5 * shift)
  np.testing.assert_allclose(
      csvae_jax.switch_attribute(model, x, y, "Smiling", point=1.5, exclusive=True), expected,
      atol=1e-5)


def test_kinds_figure_switches_one_subject_on_at_each_kinds_points(trained, tmp_path, monkeypatch):
  """Figs. 3-4 as drawn: a subject without a beard (of those, the fewest other attributes), each
  kind's row at its points (CSVAE: +-2 sd along W_j's first principal direction; the others p or
  t over P_RANGE), beside the CSVAE's W_j posterior coloured by the attribute."""
  models_by_kind, _ = trained
  faces = procedural.make_split(48, seed=11, image_size=32)
  # The face with the fewest attributes has a beard (the faces without any are left out): the
  # subject is the one with the fewest among those without.
  j, counts = 1, faces["y"].sum(1)
  first = np.flatnonzero((faces["y"][:, j] == 1) & (counts == 1))[:1]
  order = np.concatenate([first, np.setdiff1d(np.flatnonzero(counts > 0), first)])
  split = {key: faces[key][order] for key in ("x", "y")}
  x, y = split["x"], split["y"]
  drawn = {}
  monkeypatch.setattr(paper_figures.plots, "plot_kinds", lambda *args: drawn.update(args=args))
  paper_figures.kinds_figure(models_by_kind, split, "Facial_Hair", str(tmp_path / "k.png"),
                             num_points=3)
  _, subject, rows, _, w, present, w_points, name = drawn["args"]
  absent = np.flatnonzero(y[:, j] == 0)
  i = absent[np.argmin(y[absent].sum(1))]
  np.testing.assert_array_equal(subject, x[i] / 255.0)
  assert name == "Facial_Hair" and list(rows) == list(models_by_kind)
  csvae = models_by_kind["csvae"]
  points = switching.principal_points(csvae, j, x, y, num_components=1, steps=[-2, 0, 2])
  np.testing.assert_allclose(w_points, points, atol=1e-5)
  np.testing.assert_array_equal(present, y[:, j] == 1)
  np.testing.assert_allclose(w, csvae.encode(x, y)["w_mu"].reshape(len(x), 3, 2)[:, j], atol=1e-5)
  for kind, model in models_by_kind.items():
    kind_points = points if kind == "csvae" else np.linspace(*switching.P_RANGE, 3)
    for edit, point in zip(rows[kind], kind_points):
      np.testing.assert_allclose(
          edit, switching.switch_attribute(model, x[i] / 255.0, y[i], j, point=point), atol=1e-5)


def test_default_points_come_with_the_checkpoint(trained):
  model = trained[0]["csvae"]
  points = switching.switch_points(model)
  assert points.step == model.step and points.w_present.shape == (3, 2)
  assert points.z_mean.shape == (3, 2, 4) and points.w_splits == ("validation",) * 3
  # CSVAE's points of W_j: the mean of the validation encodings with the attribute and the
  # densest of them (none has more of the others within 0.5).
  validation = data_lib.load_dataset(model.config.data).splits["validation"]
  for j in range(3):
    present = validation["y"][:, j] == 1
    w = model.encode(validation["x"][present], validation["y"][present])["w_mu"]
    w = w.reshape(len(w), 3, 2)[:, j]
    np.testing.assert_allclose(points.w_present[j], w.mean(0), atol=1e-5)
    neighbours = (np.linalg.norm(w[:, None] - w[None], axis=-1) < 0.5).sum(1)
    at = np.linalg.norm(w - points.w_densest[j], axis=-1)
    assert at.min() < 1e-4 and neighbours[at.argmin()] == neighbours.max()


def test_w_grid_and_principal_points_lay_out_w_j(trained):
  model = trained[0]["csvae"]
  grid = switching.w_grid(model, 3, span=1.0, centre=np.array([0.0, 10.0]))
  np.testing.assert_allclose(grid[:4], [[-1, 9], [-1, 10], [-1, 11], [0, 9]])  # second fastest
  np.testing.assert_allclose(switching.w_grid(model, 3)[4], [3.0, 3.0])  # the present prior's mean
  # Principal points of the faces with a beard, in W_Facial_Hair: their mean, then +-2 sample sd
  # along the first principal direction (the largest eigenvalue of their covariance).
  faces = procedural.make_split(64, seed=3, image_size=32)
  present = faces["y"][:, 1] == 1
  w = model.encode(faces["x"][present], faces["y"][present])["w_mu"].reshape(-1, 3, 2)[:, 1]
  points = switching.principal_points(model, "Facial_Hair", faces["x"], faces["y"],
                                      num_components=1)
  np.testing.assert_allclose(points[1], w.mean(0), atol=1e-5)
  sd = np.sqrt(np.linalg.eigvalsh(np.cov(w.T)).max())
  np.testing.assert_allclose(np.linalg.norm(points[[0, 2]] - w.mean(0), axis=1), 2 * sd,
                             rtol=1e-4)
  # Two directions, 3 x 3 points, the second fastest: +-2 sd along the second at the first's mean.
  both = switching.principal_points(model, 1, faces["x"], faces["y"])
  second = np.sqrt(np.linalg.eigvalsh(np.cov(w.T)).min())
  np.testing.assert_allclose(np.linalg.norm(both[[3, 5]] - w.mean(0), axis=1), 2 * second,
                             rtol=1e-4)


def _png_cells(path, rows, columns):
  """A PNG sheet of rows x columns equal images, as [rows, columns, height, width, channels]."""
  sheet = np.asarray(Image.open(path))
  height, width = sheet.shape[0] // rows, sheet.shape[1] // columns
  return sheet.reshape(rows, height, columns, width, -1).swapaxes(1, 2)


def test_w_grid_rows_draw_w1_across_and_w2_up(trained):
  grid = switching.w_grid(trained[0]["csvae"], 3, span=1.0, centre=np.array([0.0, 10.0]))
  rows = plots.w_grid_rows(grid)  # [3, 3, 2]: each cell's point
  np.testing.assert_allclose(rows[..., 0], [[-1, 0, 1]] * 3)
  np.testing.assert_allclose(rows[..., 1], [[11] * 3, [10] * 3, [9] * 3])


def test_image_grids_fill_rows_left_to_right_then_white(tmp_path):
  images = [np.full((2, 3, 3), 10 * i, np.uint8) for i in range(5)]
  plots.save_image_grid(str(tmp_path / "grid.png"), images, columns=2)
  cells = _png_cells(tmp_path / "grid.png", 3, 2)
  np.testing.assert_array_equal(cells[..., 0, 0, 0], [[0, 10], [20, 30], [40, 255]])


def test_a_photo_of_another_shape_is_centre_cropped_to_a_square(trained):
  model = trained[0]["csvae"]
  photo = np.zeros((32, 64, 3), np.uint8)
  photo[:, 16:48] = 255  # the central square white, the bands either side black
  np.testing.assert_array_equal(switching.prepare_photo(photo, model), 255)
  np.testing.assert_array_equal(switching.prepare_photo(photo.transpose(1, 0, 2), model), 255)


def test_tfd_models_switch_exclusively_by_default(trained):
  """A model of TFD's expressions (here the VAE with its config renamed): switching one label on
  turns the others off, as `exclusive=True` does."""
  model, (x, y) = trained[0]["vae"], _float_split(trained)
  config = ml_collections.ConfigDict(model.config.to_dict())
  config.data.name = "tfd"
  tfd_model = dataclasses.replace(model, config=config)
  exclusive = csvae_jax.switch_attribute(model, x, y, "Smiling", exclusive=True)
  np.testing.assert_allclose(csvae_jax.switch_attribute(tfd_model, x, y, "Smiling"), exclusive)
  assert not np.allclose(csvae_jax.switch_attribute(model, x, y, "Smiling"), exclusive)


def test_a_model_reads_uint8_images_in_the_unit_interval_and_refuses_bad_input(trained):
  model, split = trained[0]["csvae"], trained[1]
  x, y = split["x"], split["y"]
  for a, b in zip(model.encode(x, y).values(), model.encode(x / 255.0, y).values()):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match=r"y has shape \(6, 2\); expected \[6, 3\] \(labels "
                                       r"Eyeglasses, Facial_Hair, Smiling\)"):
    model.encode(x, y[:, :2])
  with pytest.raises(ValueError, match=r"x has shape \(6, 16, 32, 3\); this model takes "
                                       r"\[B, 32, 32, 3\] or one example"):
    model.encode(x[:, ::2], y)
  z = model.encode(x, y)["z_mu"]
  with pytest.raises(ValueError, match=r"A CSVAE decodes from z and w: pass w \(\[B, k\*Dw\]\)"):
    model.decode(z)
  with pytest.raises(ValueError, match=r"A condvae decodes from z and y: pass y \(\[B, k\]\)"):
    trained[0]["condvae"].decode(z)
  with pytest.raises(ValueError, match="A vae has no adversary"):
    trained[0]["vae"].predict_labels_from_z(z)
  with pytest.raises(ValueError, match=r"This CSVAE has no q\(y\|x\): give the labels, or train "
                                       r"with config.model.infer_labels=True"):
    csvae_jax.switch_attribute(model, x, None, "Eyeglasses")  # no labels, and none to infer


def test_edits_come_back_as_uint8_rounded_and_clipped():
  images = np.array([-0.2, 0.0, 0.4 / 255, 0.6 / 255, 0.5, 1.0, 1.3])
  np.testing.assert_array_equal(switching.to_uint8(images), [0, 0, 0, 1, 128, 255, 255])
  assert switching.to_uint8(images).dtype == np.uint8


def test_unknown_attribute_lists_the_valid_ones(trained):
  models_by_kind, split = trained
  with pytest.raises(ValueError, match="Unknown attribute 'Glasses'; this model knows Eyeglasses, "
                                       "Facial_Hair, Smiling"):
    csvae_jax.switch_attribute(models_by_kind["vae"], split["x"], split["y"], "Glasses")
  with pytest.raises(ValueError, match="Attribute index 3 is out of range; this model has 3: "
                                       "Eyeglasses, Facial_Hair, Smiling"):
    csvae_jax.switch_attribute(models_by_kind["vae"], split["x"], split["y"], 3)


def test_the_edit_command_starts_from_the_given_labels_else_the_targets_opposite(trained):
  model, x = trained[0]["csvae"], trained[1]["x"][0]
  np.testing.assert_array_equal(switching.photo_labels(model, x, 0, False, {}), [0, 0, 0])
  np.testing.assert_array_equal(switching.photo_labels(model, x, 2, True, {}), [0, 0, 1])
  np.testing.assert_array_equal(
      switching.photo_labels(model, x, 2, True, {"Eyeglasses": 1.0}), [1, 0, 1])


def test_edit_command_writes_a_grid_and_fits_other_sizes(trained, tmp_path):
  models_by_kind, split = trained
  workdir = models_by_kind["csvae"].workdir
  Image.fromarray(split["x"][0]).save(tmp_path / "face.png")
  Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / "small.png")
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  def edit(image, *flags, workdir=workdir):
    return subprocess.run([sys.executable, "-m", "csvae_jax.edit", "--workdir", workdir, "--image",
                           str(tmp_path / image), "--attribute", "Eyeglasses", "--grid", "3",
                           "--out", str(tmp_path / "edits.png"), *flags], cwd=repo,
                          capture_output=True, text=True, timeout=120, check=False)
  result = edit("face.png")
  assert result.returncode == 0, result.stderr[-2000:]
  assert np.asarray(Image.open(tmp_path / "edits.png")).shape == (3 * 32, 4 * 32, 3)
  cells = _png_cells(tmp_path / "edits.png", 3, 4)
  model, face = models_by_kind["csvae"], split["x"][0]
  y = switching.photo_labels(model, face, 0, False, {})
  edits = switching.switch_attribute(model, face, y, 0, point=switching.w_grid(model, 3))
  recon = switching.to_uint8(model.reconstruct(face, y)[0])
  # The first column: the input over its reconstruction, then white; the rest: the W grid as
  # the figures draw it (w1 across, w2 up).
  for cell, expected in ((cells[0, 0], face), (cells[1, 0], recon), (cells[2, 0], 255)):
    np.testing.assert_allclose(cell, expected, atol=1)
  np.testing.assert_allclose(cells[:, 1:], plots.w_grid_rows(edits), atol=1)
  result = edit("small.png")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "is 30x40, not 32x32: centre-cropped" in result.stderr
  assert "work best on faces aligned as in training" in result.stderr
  # Switching off is one edit, from the labels given and the attribute present: the input, its
  # reconstruction and the edit.
  result = edit("face.png", "--off", "--labels", "Smiling=1,Facial_Hair=0")
  assert result.returncode == 0, result.stderr[-2000:]
  assert np.asarray(Image.open(tmp_path / "edits.png")).shape == (32, 3 * 32, 3)
  cells = _png_cells(tmp_path / "edits.png", 1, 3)[0]
  y = switching.photo_labels(model, face, 0, True, {"Smiling": 1.0, "Facial_Hair": 0.0})
  np.testing.assert_array_equal(y, [1, 0, 1])
  off = switching.switch_attribute(model, face, y, 0, on=False)
  for cell, expected in zip(cells, (face, switching.to_uint8(model.reconstruct(face, y)[0]), off)):
    np.testing.assert_allclose(cell, expected, atol=1)
  # A CondVAE's grid is --grid values of p over P_RANGE, in a row after the input and its
  # reconstruction.
  condvae = models_by_kind["condvae"]
  result = edit("face.png", workdir=condvae.workdir)
  assert result.returncode == 0, result.stderr[-2000:]
  cells = _png_cells(tmp_path / "edits.png", 1, 5)[0]
  y = switching.photo_labels(condvae, face, 0, False, {})
  p_row = switching.switch_attribute(condvae, face, y, 0,
                                     point=np.linspace(*switching.P_RANGE, 3, dtype=np.float32))
  np.testing.assert_allclose(cells[2:], p_row, atol=1)


def test_style_figures_lay_out_inputs_then_a_row_per_style(trained, tmp_path, monkeypatch):
  model = trained[0]["csvae"]
  split = procedural.make_split(24, seed=10, image_size=32)
  w_grids, draw = [], plots.plot_w_grid
  monkeypatch.setattr(paper_figures.plots, "plot_w_grid",
                      lambda *args: w_grids.append(args) or draw(*args))
  written = paper_figures.style_figures(model, split, str(tmp_path), num_identities=4)
  assert sorted(os.path.basename(p) for p in written) == sorted(
      [f"{kind}_{name}.png" for kind in ("w_grid", "style_transfer") for name in
       model.spec.label_names] + ["attribute_product.png"])
  # Style transfer of glasses: the inputs without them on top, then a row per style, each face
  # edited at that point of W (the first principal direction of the faces with glasses).
  x, y = split["x"], split["y"]
  others = np.flatnonzero(y[:, 0] == 0)[:4]
  styles = switching.principal_points(model, 0, x, y, num_components=1, steps=[-1.5, 0, 1.5])
  cells = _png_cells(tmp_path / "style_transfer_Eyeglasses.png", 4, 4)
  np.testing.assert_array_equal(cells[0], x[others])
  for row, point in enumerate(styles, start=1):
    edits = switching.switch_attribute(model, x[others], y[others], "Eyeglasses", point=point)
    np.testing.assert_array_equal(cells[row], edits)
  # Each W grid: the subject (the face with the fewest attributes) decoded at a 5 x 5 grid around
  # the present prior's mean, beside the posterior means of the split in that W_j.
  subject = np.argmin(y.sum(1))
  w, grid = model.encode(x, y)["w_mu"].reshape(len(x), 3, 2), switching.w_grid(model, 5)
  assert [args[-1] for args in w_grids] == list(model.spec.label_names)
  for j, (_, w_j, present, points, edits, _) in enumerate(w_grids):
    np.testing.assert_allclose(w_j, w[:, j], atol=1e-5)
    np.testing.assert_array_equal(present, y[:, j] == 1)
    np.testing.assert_allclose(points, grid)
    np.testing.assert_allclose(
        edits, switching.switch_attribute(model, x[subject] / 255.0, y[subject], j, point=grid),
        atol=1e-5)
  # The attribute product: the input over white, its reconstruction over white, then glasses'
  # styles down and facial hair's across, both switched on.
  beards = switching.principal_points(model, 1, x, y, num_components=1, steps=[-1.5, 0, 1.5])
  cells = _png_cells(tmp_path / "attribute_product.png", 3, 5)
  recon = switching.to_uint8(model.reconstruct(x[subject], y[subject])[0])
  for cell, expected in ((cells[0, 0], x[subject]), (cells[0, 1], recon), (cells[1:, :2], 255)):
    np.testing.assert_allclose(cell, expected, atol=1)
  for row, glasses in enumerate(styles):
    for column, beard in enumerate(beards, start=2):
      edit = switching.switch_attribute(model, x[subject], y[subject],
                                        ["Eyeglasses", "Facial_Hair"], point=[glasses, beard])
      np.testing.assert_allclose(cells[row, column], edit, atol=1)


def test_every_plot_draws_its_png_and_leaves_pyplot_alone(tmp_path):
  """In a process of its own: each plot writes a PNG, and none imports matplotlib.pyplot (whose
  backend and open figures are a notebook's)."""
  code = """if True:
    import sys
    import numpy as np
    from csvae_jax import plots
    r, out = np.random.default_rng(0), sys.argv[1]
    images = lambda *shape: r.uniform(size=shape)
    greys = lambda n: np.arange(1, n + 1)[:, None, None, None] * np.full((n, 8, 8, 3), 51 / 255)
    plots.plot_latent_projections(f"{out}/projections.png", images(50, 3), images(50, 3),
                                  images(50, 3), ["z1", "z2", "w"], r.integers(0, 2, 50))
    plots.plot_reconstructions(f"{out}/reconstructions.png", np.zeros((4, 8, 8, 3)),
                               np.full((4, 8, 8, 3), 0.5))
    plots.plot_w_grid(f"{out}/w_grid.png", images(20, 2), r.integers(0, 2, 20) > 0,
                      images(4, 2), greys(4), "Eyeglasses")
    plots.plot_kinds(f"{out}/kinds.png", np.zeros((8, 8, 3)), {"csvae": greys(3)},
                     {"csvae": "CSVAE"}, images(20, 2), r.integers(0, 2, 20) > 0, images(3, 2),
                     "Eyeglasses")
    fractions, values = np.array([0.01, 0.1, 1.0]), np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    plots.plot_method_curves(f"{out}/fractions.png", {"a": (fractions, values)},
                             "share of labelled examples", log_x=True, title="t")
    assert "matplotlib.pyplot" not in sys.modules
  """
  subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True,
                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  for name in ("projections", "reconstructions", "w_grid", "kinds", "fractions"):
    width, height = Image.open(tmp_path / f"{name}.png").size
    assert width > 100 and height > 50
  def pixels(name):  # [H, W, 3] int
    return np.asarray(Image.open(tmp_path / f"{name}.png").convert("RGB")).astype(int)
  def where(name, levels):  # [len(levels), 2] median (row, column) of each grey level's pixels
    found = [np.nonzero((np.abs(pixels(name) - 51 * level) <= 1).all(-1)) for level in levels]
    assert all(len(rows) > 500 for rows, _ in found), name
    return np.array([(np.median(rows), np.median(columns)) for rows, columns in found])
  # Points coloured by their label, red and blue (the images beside them are grey).
  for name in ("projections", "w_grid", "kinds"):
    red, green, blue = pixels(name).reshape(-1, 3).T
    assert (red - np.maximum(green, blue) > 40).sum() > 20 and (blue - red > 40).sum() > 20, name
  # The W grid's images where their points are, w1 across and w2 up: point k of the 2 x 2 grid
  # has w1 index k // 2 and w2 index k % 2 (grey levels 1-4).
  row, column = where("w_grid", [1, 2, 3, 4]).T
  near = lambda a, b: abs(a - b) < 3  # pixels
  assert near(column[0], column[1]) and near(column[2], column[3]) and column[1] < column[2]
  assert near(row[1], row[3]) and near(row[0], row[2]) and row[1] < row[0]
  # The kinds: every edit of a row drawn after the input, in order (grey levels 1-3).
  row, column = where("kinds", [1, 2, 3]).T
  assert near(row[0], row[2]) and near(row[1], row[2]) and column[0] < column[1] < column[2]
  # Method 1 falls from 1 to 0 in the left panel, target-changed rises from 0 to 1 in the right
  # one, each a straight line on the log axis (matplotlib's first colour; the legend is left).
  line = (np.abs(pixels("fractions") - (31, 119, 180)) <= 10).all(-1)
  half = line.shape[1] // 2
  for panel, sign in ((line[:, :half], 1), (line[:, half:], -1)):
    rows, columns = np.nonzero(panel)
    assert sign * np.corrcoef(rows, columns)[0, 1] > 0.5
  off_line = rows - np.polyval(np.polyfit(columns, rows, 1), columns)
  assert np.median(np.abs(off_line)) < 3  # pixels
  # Each input (black) beside its reconstruction (mid grey): as many pixels of each.
  drawn = pixels("reconstructions").reshape(-1, 3)
  black = (drawn == 0).all(1).sum()
  grey = ((drawn == drawn[:, :1]).all(1) & (np.abs(drawn[:, 0] - 127.5) < 1)).sum()
  assert black > 1000 and abs(grey - black) < 0.05 * black, (black, grey)
