"""End to end: train.py's library call, resume, failures, eval.py's outputs and csvae_jax.load."""

import hashlib
import importlib
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import tiny_images
import csvae_jax
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import models
from csvae_jax import parallel
from csvae_jax import trainer
from file_snapshot import snapshot
import tensorboard_events

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _leaves(state):
  return jax.tree.leaves(jax.device_get(state))


def test_train_then_eval_writes_checkpoints_summaries_metrics_and_figure(config, tmp_path,
                                                                        monkeypatch):
  workdir = str(tmp_path)
  config.train.ckpt_every = config.train.eval_every = 300  # and the last step, whatever its number
  checks, check_finite = [], trainer._check_finite
  def recorded_check(metrics, first_step, last_step, last_saved):  # what a NaN's error would say
    checks.append((first_step, last_step, last_saved))
    check_finite(metrics, first_step, last_step, last_saved)
  monkeypatch.setattr(trainer, "_check_finite", recorded_check)
  state = trainer.train_and_evaluate(config, workdir)
  assert int(state.step) == config.train.num_steps
  assert checks == [(0, 100, None), (100, 200, None), (200, 300, None), (300, 400, 300)]
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["300", "400"]
  logged = _summary_steps(tmp_path)  # every log_every=100 steps, evaluations as the checkpoints
  assert {tag: logged.get(tag) for tag in ("train/loss", "train/examples_per_sec", "steps_per_sec",
                                           "eval/loss")} == {
      "train/loss": [100, 200, 300, 400], "eval/loss": [300, 400],
      # a rate from the second report on, the first dispatch's compilation left out
      "train/examples_per_sec": [200, 300, 400], "steps_per_sec": [200, 300, 400]}

  drawn, draw = {}, evaluate.plots.plot_latent_projections
  def spy(path, x, x_hat, latents, names, y, title=""):  # the figure, with what it was given
    drawn.update(x=x, names=names, y=y)
    draw(path, x, x_hat, latents, names, y, title)
  monkeypatch.setattr(evaluate.plots, "plot_latent_projections", spy)
  results = evaluate.evaluate(config, workdir)
  with open(tmp_path / "eval" / "metrics.json") as f:
    assert json.load(f) == results
  test = data_lib.load_dataset(config.data).splits["test"]  # its points coloured by their label
  assert drawn["names"] == ["z1", "z2", "w1", "w2"] and np.array_equal(drawn["x"], test["x"])
  np.testing.assert_array_equal(drawn["y"], test["y"][:, 0])
  assert {"recon_mse", "relative_recon_mse", "z_label_probe_accuracy", "w_label_probe_accuracy",
          "adversary_accuracy"} <= set(results)
  assert results["step"] == 400 and results["w_label_probe_accuracy"] > 0.9
  assert (tmp_path / "eval" / "latent_projections.png").stat().st_size > 10_000

  model, earlier = csvae_jax.load(workdir), csvae_jax.load(workdir, step=300)
  assert (model.step, earlier.step) == (400, 300)
  train_x = data_lib.load_dataset(config.data).splits["train"]["x"]  # no held-out statistic
  np.testing.assert_allclose(model.spec.x_mean, train_x.mean(0), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(model.spec.x_std, train_x.std(0), rtol=1e-5, atol=1e-5)
  assert not np.array_equal(jax.tree.leaves(model.params)[0], jax.tree.leaves(earlier.params)[0])
  with pytest.raises(FileNotFoundError, match="No checkpoint at step 350 in"):
    csvae_jax.load(workdir, step=350)  # between the kept steps
  x = np.array([[10.0, 3.0, -2.0], [-5.0, 15.0, 8.0]], np.float32)
  y = np.array([0, 1])
  latents = model.encode(x, y)
  assert {k: v.shape for k, v in latents.items()} == {
      "z_mu": (2, 2), "z_logvar": (2, 2), "w_mu": (2, 2), "w_logvar": (2, 2)}
  x_hat = model.reconstruct(x, y)
  assert isinstance(x_hat, np.ndarray) and x_hat.shape == (2, 3)
  # Reconstructions come back in the roll's units (its coordinates span about -11..21), close to
  # the inputs.
  error = np.mean((model.reconstruct(test["x"], test["y"]) - test["x"]) ** 2)
  assert error < 0.1 * test["x"].var(0).mean()  # 0.058 measured; the mean point scores 1

  # A checkpoint written before the labelling fields existed loads with its data as they were.
  saved = tmp_path / "checkpoints" / "400" / "config" / "metadata"
  older = json.loads(saved.read_text())
  for name in ("label_fraction", "label_seed", "unlabelled"):
    del older["data"][name]
  saved.write_text(json.dumps(older))
  data = csvae_jax.load(workdir).config.data
  assert (data.label_fraction, data.label_seed, data.unlabelled) == (1.0, 0, "missing")


def test_vae_has_no_w_entry_and_no_adversary(config, tmp_path):
  config.model.kind = "vae"
  config.data.label_fraction = 0.1  # a VAE reads no labels: missing ones are no reason to stop
  trainer.train_and_evaluate(config, str(tmp_path))
  results = evaluate.evaluate(config, str(tmp_path))
  assert "w_label_probe_accuracy" not in results and "adversary_accuracy" not in results


def test_the_batches_follow_config_seed_and_the_train_fields(config, tmp_path, monkeypatch):
  class Started(Exception):
    pass
  calls = []
  def record(split, **kwargs):  # the trainer's call, stopped before any step
    del split
    calls.append(kwargs)
    raise Started
  monkeypatch.setattr(trainer.pipeline, "make_chunks", record)
  for i, (seed, labelled_per_batch) in enumerate([(0, 0), (0, 0), (1, 8)]):
    config.seed, config.train.labelled_per_batch = seed, labelled_per_batch
    with pytest.raises(Started):
      trainer.train_and_evaluate(config, str(tmp_path / str(i)))
  assert calls[0]["seed"] == calls[1]["seed"] != calls[2]["seed"]
  assert {k: calls[2][k] for k in ("batch_size", "first_step", "num_steps", "steps_per_chunk",
                                   "labelled_per_batch")} == {
      "batch_size": 64, "first_step": 0, "num_steps": 400, "steps_per_chunk": 100,
      "labelled_per_batch": 8}


def test_resumed_run_equals_unbroken_run(config, tmp_path):
  unbroken = trainer.train_and_evaluate(config, str(tmp_path / "unbroken"))
  config.train.num_steps = 200
  trainer.train_and_evaluate(config, str(tmp_path / "resumed"))
  config.train.num_steps = 400
  # The data moved meanwhile (another machine, a new bucket): where they are is not what they are.
  config.data.data_dir, config.data.manual_dir = str(tmp_path / "moved"), str(tmp_path / "files")
  resumed = trainer.train_and_evaluate(config, str(tmp_path / "resumed"))
  for a, b in zip(_leaves(unbroken), _leaves(resumed), strict=True):
    np.testing.assert_array_equal(a, b)
  # TensorBoard gets the hyperparameters once, at the run's first start.
  assert _hparams_summaries(tmp_path / "resumed") == _hparams_summaries(tmp_path / "unbroken") > 0


def _hparams_summaries(workdir):
  """How many hyperparameter summaries the TensorBoard event files in `workdir` hold."""
  return sum(value.metadata.plugin_data.plugin_name == "hparams"
             for event in tensorboard_events.read(workdir) for value in event.summary.value)


def _summary_steps(workdir):
  """{tag: the sorted steps of its summaries} in the TensorBoard event files of `workdir`."""
  steps = {}
  for event in tensorboard_events.read(workdir):
    for value in event.summary.value:
      steps.setdefault(value.tag, []).append(event.step)
  return {tag: sorted(found) for tag, found in steps.items()}


def test_non_finite_loss_stops_the_run_and_keeps_the_last_checkpoint(config, tmp_path):
  config.train.num_steps = 200
  trainer.train_and_evaluate(config, str(tmp_path))
  saved = csvae_jax.load(str(tmp_path))
  config.train.num_steps = 400
  config.loss.beta_x = float("nan")
  with pytest.raises(FloatingPointError, match=r"Non-finite train/.*between steps 201 and 300"):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["200"]
  after = csvae_jax.load(str(tmp_path))
  for a, b in zip(jax.tree.leaves(saved.params), jax.tree.leaves(after.params), strict=True):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value,last_saved,kept", [(np.inf, 10, "step 10"),
                                                   (-np.inf, None, "none written yet")])
def test_an_infinite_metric_stops_the_run_as_a_nan_does(value, last_saved, kept):
  message = rf"Non-finite train/kl_z between steps 11 and 20; the run .* checkpoint \({kept}\)"
  with pytest.raises(FloatingPointError, match=message):
    trainer._check_finite({"loss": np.float32(1.0), "kl_z": np.float32(value)}, 10, 20, last_saved)
  trainer._check_finite({"loss": np.float32(1.0)}, 10, 20, last_saved)  # finite: nothing raised


def test_incompatible_checkpoint_names_the_differing_fields(config, tmp_path):
  config.train.num_steps = 200
  trainer.train_and_evaluate(config, str(tmp_path))
  config.model.z_dim = 3
  config.model.kind = "vae"
  with pytest.raises(ValueError, match=r"(?s)model.kind: checkpoint 'csvae', config 'vae'.*"
                                       r"model.z_dim: checkpoint 2, config 3"):
    trainer.train_and_evaluate(config, str(tmp_path))


def test_load_without_checkpoint_says_how_to_train(tmp_path):
  with pytest.raises(FileNotFoundError, match="No checkpoint in .*train first"):
    csvae_jax.load(str(tmp_path))


@pytest.mark.parametrize("field,value,message", [
    ("log_every", 150, "log_every=150 must be a multiple of .*steps_per_dispatch=100"),
    ("num_steps", 0, r"num_steps \(0\) and batch_size \(64\) must be positive"),
    ("batch_size", 0, r"num_steps \(400\) and batch_size \(0\) must be positive")])
def test_batch_and_dispatch_sizes_are_validated(config, tmp_path, field, value, message):
  config.train[field] = value
  with pytest.raises(ValueError, match=message):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("infer_labels,ramp", [(False, 100), (True, -1)])
def test_a_ramp_of_unlabelled_examples_needs_inferred_labels_and_steps(config, tmp_path,
                                                                      infer_labels, ramp):
  config.model.infer_labels, config.loss.unlabelled_ramp_steps = infer_labels, ramp
  with pytest.raises(ValueError, match=f"unlabelled_ramp_steps={ramp}: a number of steps >= 0"):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("missing,confidence", [("expectation", 0.9), ("likeliest", 1.0)])
def test_a_label_confidence_needs_likeliest_labels_and_a_probability(config, tmp_path, missing,
                                                                    confidence):
  config.model.infer_labels, config.model.missing_labels = True, missing
  config.loss.label_confidence = confidence
  with pytest.raises(ValueError, match=f"label_confidence={confidence}: a probability in"):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("name", ["procedural", "procedural_missing_labels", "celeba_glasses",
                                  "celeba_facial_hair", "celeba_glasses_facial_hair", "tfd"])
def test_image_configs_lay_out_work_for_their_target(name):
  module = importlib.import_module(f"configs.{name}")
  cpu, gpu, tpu = (module.get_config(target) for target in ("cpu", "gpu", "tpu"))
  assert module.get_config().to_dict() == cpu.to_dict()
  assert (cpu.train.batch_size, cpu.train.steps_per_dispatch) == (64, 1)
  assert gpu.to_dict() == tpu.to_dict()
  assert (gpu.train.batch_size, gpu.train.steps_per_dispatch) == (256, 50)
  for config in (gpu, tpu):  # every period a whole number of dispatches
    for period in ("log_every", "eval_every", "ckpt_every"):
      assert config.train[period] % config.train.steps_per_dispatch == 0
  gpu.train.batch_size, gpu.train.steps_per_dispatch = 64, 1
  assert gpu.to_dict() == cpu.to_dict()  # nothing else differs
  with pytest.raises(ValueError, match="Unknown target 'h100'.*cpu, gpu, tpu"):
    module.get_config("h100")


def test_label_probes_score_balanced_accuracy_so_a_common_label_cannot_inflate_them():
  rng = np.random.default_rng(0)
  noise, y = rng.normal(size=(2000, 4)), (rng.random(2000) < 0.9).astype(int)  # 90% ones
  # Features that carry nothing: always "1", which a plain accuracy would score about 0.9.
  assert evaluate.probe_accuracy(noise[:1000], y[:1000], noise[1000:], y[1000:]) == (
      pytest.approx(0.5, abs=0.03))
  carrying = np.concatenate([noise, y[:, None]], axis=1)
  assert evaluate.probe_accuracy(carrying[:1000], y[:1000], carrying[1000:], y[1000:]) == 1.0
  # Fitted on the training features alone: a column blank there learns nothing, whatever it
  # carries in the test features (a probe fitted on those would score 1).
  blank = np.concatenate([noise[:1000], np.zeros((1000, 1))], axis=1)
  assert evaluate.probe_accuracy(blank, y[:1000], carrying[1000:], y[1000:]) == (
      pytest.approx(0.5, abs=0.03))


def test_training_time_evaluation_averages_the_full_batches_of_its_first_examples():
  split = {"x": np.arange(20, dtype=np.float32)[:, None], "y": np.zeros((20, 1), np.float32)}
  def eval_step(state, batch, rng):  # a metric that says which examples it saw
    del state, rng
    return {"x": batch["x"].mean()}
  def mean(max_examples):
    return trainer._evaluate(eval_step, None, split, 4, max_examples, parallel.make_mesh(),
                             None)["x"]
  assert mean(10) == pytest.approx(3.5)  # two batches of 4: examples 0-7
  assert mean(100) == pytest.approx(9.5)  # the whole split, five batches
  assert mean(2) == pytest.approx(1.5)  # at least one batch


def test_training_time_evaluation_leaves_out_only_the_examples_that_came_without_labels():
  mask = np.array([1, 0, 1, 0, 1, 1], np.float32)[:, None] * np.ones((1, 2), np.float32)
  split = {"x": np.arange(6, dtype=np.float32)[:, None], "y": np.ones((6, 2), np.float32),
           "y_mask": mask}
  other = {k: v[:2] for k, v in split.items()}
  def seen(is_partially_labelled, splits=(("train", other), ("validation", split),
                                          ("test", other))):
    dataset = data_lib.Dataset(
        splits=dict(splits), label_names=("a", "b"), standardise=False,
        traits=data_lib.Traits(title="toy", is_partially_labelled=is_partially_labelled))
    return trainer._eval_examples(dataset)["x"][:, 0].tolist()
  assert seen(True) == [0, 2, 4, 5]  # TFD's unlabelled images (y all 0) are not ground truth
  assert seen(False) == [0, 1, 2, 3, 4, 5]  # labels hidden by data.label_fraction keep true y
  assert seen(False, (("train", other), ("test", split))) == [0, 1, 2, 3, 4, 5]  # no validation


class _PixelPerW:
  """A stand-in for a CSVAE of 2x2 images with 3 labels of 2 dims each: its decoder draws, in
  pixel j of the image, a tenth of W_j's first coordinate; its reconstruction is 1 - x."""
  spec = models.ModelSpec(kind="csvae", x_shape=(2, 2, 1), num_labels=3, w_dim=2)

  def reconstruct(self, x, y):
    del y
    return 1.0 - x

  def encode(self, x, y):
    del y
    return {"z_mu": np.zeros((len(x), 2), np.float32), "w_mu": np.zeros((len(x), 6), np.float32)}

  def decode(self, z, w):
    del z
    pixels = np.concatenate([w[:, ::2], np.zeros((len(w), 1), np.float32)], axis=1) / 10
    return pixels.reshape(-1, 2, 2, 1)


def test_tensorboard_shows_inputs_over_reconstructions_and_each_w_j_moved_alone():
  x = np.random.default_rng(0).integers(0, 256, (8, 2, 2, 1), dtype=np.uint8)
  images = trainer._eval_images(_PixelPerW(), {"x": x, "y": np.zeros((8, 3), np.float32)})
  shown = images["eval/reconstructions"][0, ..., 0]  # [2 rows of 2, 8 faces of 2]
  inputs = x[..., 0].transpose(1, 0, 2).reshape(2, 16) / 255.0
  np.testing.assert_allclose(shown, np.concatenate([inputs, 1.0 - inputs]), atol=1e-6)
  edits = images["eval/w_edits"][0, ..., 0].reshape(3, 2, 5, 2)  # [j, H, point, W]
  steps = np.linspace(0.1, 0.5, 5)  # W_j at 1, ..., 5 along the present prior's diagonal
  for j in range(3):
    pixel = edits[j].transpose(1, 0, 2).reshape(5, 4)  # [point, pixels]
    np.testing.assert_allclose(pixel[:, j], steps, atol=1e-6)
    np.testing.assert_allclose(np.delete(pixel, j, axis=1), 0.0)


def _cli(*args):
  return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                        timeout=120, check=False)


def test_cli_rejects_a_misspelt_config_field_a_stray_argument_or_no_config(tmp_path):
  result = _cli("train.py", "--config", "configs/tiny.py", "--workdir", str(tmp_path),
                "--config.train.num_stepz=10")
  assert result.returncode != 0
  assert "num_stepz" in result.stderr
  stray = _cli("train.py", "--config", "configs/tiny.py", "--workdir", str(tmp_path), "extra")
  assert stray.returncode == 1 and "Unexpected arguments: extra" in stray.stderr
  unconfigured = _cli("train.py", "--workdir", str(tmp_path))
  assert unconfigured.returncode == 1
  assert "Flag --config must have a value other than None" in unconfigured.stderr
  assert not os.path.exists(tmp_path / "checkpoints")


def test_procedural_images_train_and_evaluate(tmp_path, monkeypatch):
  config = tiny_images.get_config()
  config.data.data_dir = str(tmp_path / "trained" / "data")  # the rendered images, in the workdir
  evaluated, evaluate_split = [], trainer._evaluate  # training evaluates validation, never test
  def spy(eval_step, state, split, *args):
    evaluated.append(split["x"])
    return evaluate_split(eval_step, state, split, *args)
  monkeypatch.setattr(trainer, "_evaluate", spy)
  state = trainer.train_and_evaluate(config, str(tmp_path / "trained"))
  assert int(state.step) == 20
  logged = _summary_steps(tmp_path / "trained")  # TensorBoard's pictures at every evaluation
  assert logged["eval/reconstructions"] == logged["eval/w_edits"] == logged["eval/loss"] != []
  splits = data_lib.load_dataset(config.data).splits
  assert evaluated and all(np.array_equal(x, splits["validation"]["x"]) for x in evaluated)
  def rendered(workdir):  # {file: (mtime, hash)} of the cache, by its path inside the workdir
    root = str(tmp_path / workdir / "data")
    return {os.path.relpath(path, root): v for path, v in snapshot(root).items()}
  before = rendered("trained")
  assert before  # rendered once, cached for the next run
  # Moved elsewhere with its data, the run evaluates with its own config and finds them inside;
  # eval.py trains its judge where --classifier_dir says (one shared between runs).
  os.rename(tmp_path / "trained", tmp_path / "run")
  judge = tmp_path / "judge"
  result = _cli("eval.py", "--workdir", str(tmp_path / "run"), "--classifier_dir", str(judge))
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((tmp_path / "run" / "eval" / "metrics.json").read_text())
  assert rendered("run") == before
  assert not (tmp_path / "trained").exists()  # not rendered again where they were
  # Plumbing only: twenty steps do not reconstruct better than the mean image;
  # test_edits_trained.py asserts the reconstructions of a trained model.
  assert np.isfinite(results["recon_mse"]) and "w_label_probe_accuracy" in results
  for metric in ("z_label_probe_accuracy", "w_label_probe_accuracy", "w_j_label_probe_accuracy"):
    per_label = [results[f"{metric}/{name}"] for name in ("Eyeglasses", "Facial_Hair", "Smiling")]
    assert results[metric] == pytest.approx(np.mean(per_label))
  model = csvae_jax.load(str(tmp_path / "run"))
  train = {k: v[:config.eval.probe_max_train] for k, v in splits["train"].items()}
  test = splits["test"]
  x = test["x"].reshape(len(test["x"]), -1) / 255.0
  squared = (model.reconstruct(test["x"], test["y"]).reshape(x.shape) - x) ** 2
  assert results["recon_mse"] == pytest.approx(squared.mean(), rel=1e-5)
  assert results["relative_recon_mse"] == pytest.approx(np.mean(squared.mean(0) / x.var(0)),
                                                        rel=1e-5)
  z = model.encode(test["x"], test["y"])["z_mu"]
  adversary = model.predict_labels_from_z(z)  # q(y_i = 1 | z): the sigmoid of its logits
  logits = models.Adversary(model.spec.adversary_hidden, 3).apply(
      {"params": model.adversary_params}, z)
  np.testing.assert_allclose(adversary, jax.nn.sigmoid(logits), rtol=1e-5, atol=1e-7)
  assert results["adversary_accuracy"] == np.mean((adversary > 0.5) == test["y"])
  # W_j's probes read label j from its own block of w; the "withheld" one encodes with every
  # label given as 0, so that the centred prior's offset cannot carry the label into w.
  for suffix, given in (("", lambda y: y), ("_withheld", np.zeros_like)):
    w_train, w_test = (model.encode(s["x"], given(s["y"]))["w_mu"] for s in (train, test))
    width = w_train.shape[1] // 3
    for j, name in enumerate(("Eyeglasses", "Facial_Hair", "Smiling")):
      block = slice(j * width, (j + 1) * width)
      assert results[f"w_j_label{suffix}_probe_accuracy/{name}"] == evaluate.probe_accuracy(
          w_train[:, block], train["y"][:, j], w_test[:, block], test["y"][:, j])
  assert (tmp_path / "run" / "eval" / "reconstructions.png").stat().st_size > 5_000
  for name in ("table1.md", "table1.json", "table2.md", "table2.json", "styles.json",
               "attribute_product.png", *(f"{figure}_{attribute}.png" for figure in (
                   "w_grid", "style_transfer") for attribute in ("Eyeglasses", "Facial_Hair",
                                                                 "Smiling"))):
    assert (tmp_path / "run" / "eval" / name).exists(), name
  assert (judge / "classifier.json").exists() and not (tmp_path / "run" / "classifier").exists()
  # The tables name the judge that scored them: the hash of the parameters kept on disk.
  kept = (judge / "params.msgpack").read_bytes()
  table1 = json.loads((tmp_path / "run" / "eval" / "table1.json").read_text())
  assert table1["classifier_sha256"] == hashlib.sha256(kept).hexdigest()


def test_eval_cli_reads_a_config_file_or_overrides_of_the_checkpoints_own(config, tmp_path):
  workdir = str(tmp_path)
  trainer.train_and_evaluate(config, workdir)
  # Without --config, --config.<field> overrides the checkpoint's config, as a value of its type.
  typed = _cli("eval.py", "--workdir", workdir, "--config.eval.probe_max_train=many")
  assert typed.returncode == 2
  assert "--config.eval.probe_max_train=many: not a value of the field's type" in typed.stderr
  # A config file is read, and refused where its model differs from the checkpoint's.
  other = _cli("eval.py", "--workdir", workdir, "--config", "configs/tiny.py",
               "--config.model.z_dim=3")
  assert other.returncode == 2 and "model.z_dim: checkpoint 2, config 3" in other.stderr
  stray = _cli("eval.py", "--workdir", workdir, "extra")
  assert stray.returncode == 1 and "Unexpected arguments: extra" in stray.stderr
  split = _cli("eval.py", "--workdir", workdir, "--split", "validation")  # the roll has none
  assert split.returncode == 2, split.stderr[-2000:]
  assert "Error: swiss_roll has no validation split; valid: test." in split.stderr
