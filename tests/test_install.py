"""A trained model is a self-contained artefact: the package installed with its core dependencies
alone, in a fresh virtual environment without TensorFlow, edits faces from a copy of a workdir,
in another directory, with no dataset present and nothing written into the copy; and its
checkpoints carry the edits' default points."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from configs import tiny_images
import csvae_jax
from csvae_jax import checkpoint
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import switching
from csvae_jax import switch_points
from csvae_jax import trained_model
from csvae_jax import trainer
from file_snapshot import snapshot

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
import numpy as np
import csvae_jax
from csvae_jax.data import procedural

assert csvae_jax.__file__.startswith(sys.argv[2]), csvae_jax.__file__
model = csvae_jax.load(sys.argv[1])
faces = procedural.make_split(4, seed=1, image_size=32)
on = csvae_jax.switch_attribute(model, faces["x"], faces["y"], "Eyeglasses")
grid = csvae_jax.switch_attribute(model, faces["x"], faces["y"], "Smiling",
                                  point=csvae_jax.switching.w_grid(model, 3))
assert on.shape == (4, 32, 32, 3) and on.dtype == np.uint8 and grid.shape == (9, 4, 32, 32, 3)
print("edited", on.shape, grid.shape)
"""


@pytest.mark.install  # about 25 s more than the model alone: `-m "not install"` leaves it out
def test_a_fresh_venv_without_tensorflow_installs_the_package_and_edits_a_copied_workdir(
    tmp_path):
  source, venv = tmp_path / "source", tmp_path / "venv"
  shutil.copytree(os.path.join(REPO, "csvae_jax"), source / "csvae_jax",
                  ignore=shutil.ignore_patterns("__pycache__"))
  for name in ("pyproject.toml", "README.md"):
    shutil.copy(os.path.join(REPO, name), source)
  # `pip install .` with its dependencies, into a venv of this Python without pip of its own (this
  # pip installs there: --python), run while the model trains; unbyte-compiled, which saves half.
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                 timeout=60)
  python = str(venv / "bin" / "python")
  install = subprocess.Popen(
      [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile",
       str(source)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

  config = tiny_images.get_config()
  config.data.data_dir = str(tmp_path / "data")
  trainer.train_and_evaluate(config, str(tmp_path / "run"))
  shutil.copytree(tmp_path / "run", tmp_path / "copy")
  shutil.rmtree(tmp_path / "data")
  before = snapshot(str(tmp_path / "copy"))
  try:
    output, _ = install.communicate(timeout=600)
  except subprocess.TimeoutExpired:
    install.kill()
    output, _ = install.communicate()
  assert install.returncode == 0, output[-3000:]

  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  (elsewhere / "script.py").write_text(SCRIPT)
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # not the checkout
  def run(*args):
    return subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
  assert "No module named 'tensorflow'" in run(python, "-c", "import tensorflow").stderr
  edit = run(python, "script.py", str(tmp_path / "copy"), str(venv))
  assert edit.returncode == 0, edit.stderr[-3000:]
  assert "edited (4, 32, 32, 3) (9, 4, 32, 32, 3)" in edit.stdout
  assert not (tmp_path / "data").exists()
  assert snapshot(str(tmp_path / "copy")) == before
  # The console scripts: editing parses its flags before it loads anything, so a bad --labels
  # ends it at once (before it finds the workdir missing), with one line and exit code 2.
  for bad in ("Eyeglasses=yes", "=1"):  # a value other than 0|1; no name
    edit = run(str(venv / "bin" / "csvae-edit"), "--workdir", str(tmp_path / "none"), "--image",
               "face.png", "--attribute", "Eyeglasses", "--labels", bad)
    assert edit.returncode == 2
    assert edit.stderr.splitlines() == [
        f"Error: --labels {bad}: give each label as name=0 or name=1, e.g. --labels "
        "Eyeglasses=0. (--verbosity=1 shows the traceback)"]
  # Training and evaluation show their flags, then say which install they need, writing nothing.
  for program, flags in (("csvae-train", ("--config", os.path.join(REPO, "configs", "tiny.py"))),
                         ("csvae-eval", ())):
    shown = run(str(venv / "bin" / program), "--help")
    assert shown.returncode == 1 and "  --workdir: " in shown.stdout, shown.stderr[-2000:]
    ran = run(str(venv / "bin" / program), *flags, "--workdir", str(tmp_path / "none"))
    assert ran.returncode == 2
    assert "which the core install leaves out: pip install 'csvae_jax[data]'" in ran.stderr
    assert not (tmp_path / "none").exists()


def test_checkpoints_keep_the_switch_points_and_eval_checks_its_config(config, tmp_path):
  workdir = str(tmp_path / "run")
  trainer.train_and_evaluate(config, workdir)
  model = csvae_jax.load(workdir)
  stored = switching.switch_points(model)
  splits = data_lib.load_dataset(config.data).splits
  assert stored.to_json() == switch_points.compute(
      model.encode, model.spec, splits, config.eval.probe_max_train, model.step).to_json()
  assert stored.step == 400 and stored.z_mean.shape == (1, 2, 2)
  assert stored.w_present.shape == stored.w_densest.shape == (1, 2)
  assert stored.w_splits == ("test",)
  # eval.py takes the checkpoint's config, or one that differs only in its eval settings.
  config.model.z_dim = 3
  with pytest.raises(ValueError, match=r"(?s)model.z_dim: checkpoint 2, config 3.*Leave out "
                                       r"--config"):
    evaluate.evaluate(config, workdir)
  config.model.z_dim = 2
  config.eval.probe_max_train = 500
  assert evaluate.evaluate(config, workdir)["step"] == 400
  # A checkpoint from before the points were kept: the edit names the command that adds them.
  for step in ("200", "400"):
    shutil.rmtree(tmp_path / "run" / "checkpoints" / step / "switch_points")
  old = csvae_jax.load(workdir)
  with pytest.raises(ValueError, match=f"no stored switch points.*python "
                                       f"scripts/add_switch_points.py --workdir {workdir}"):
    csvae_jax.switch_attribute(old, np.zeros((1, 3)), np.zeros((1, 1)), 0)
  assert evaluate.evaluate(None, workdir)["step"] == 400  # computes them for itself
  # The command that the error names stores them as training did.
  added = subprocess.run([sys.executable, "scripts/add_switch_points.py", "--workdir", workdir],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
  assert added.returncode == 0, added.stderr[-2000:]
  assert f"Stored the switch points of {workdir}" in added.stderr
  assert switching.switch_points(csvae_jax.load(workdir)).to_json() == stored.to_json()
  # One from before the densest point was kept: switching on names the command; off works.
  checkpoint.add_switch_points(workdir, 400, dataclasses.replace(stored, w_densest=None))
  older = csvae_jax.load(workdir)
  assert older.switch_points.w_present is not None and older.switch_points.w_densest is None
  # What eval.py and scripts/add_switch_points.py ask before they compute the points again.
  assert switch_points.incomplete(older.switch_points, older.spec)
  assert not switch_points.incomplete(stored, older.spec)
  # Points stored before their split was: validation's, as they were then.
  legacy = {k: v for k, v in stored.to_json().items() if k != "w_splits"}
  assert switch_points.SwitchPoints.from_json(legacy).w_splits == ("validation",)
  with pytest.raises(ValueError, match=f"predates the default point.*python "
                                       f"scripts/add_switch_points.py --workdir {workdir}"):
    csvae_jax.switch_attribute(older, np.zeros((1, 3)), np.ones((1, 1)), 0)
  assert csvae_jax.switch_attribute(older, np.zeros((1, 3)), np.ones((1, 1)), 0, on=False).shape \
      == (1, 3)
  assert evaluate.evaluate(None, workdir)["step"] == 400
  # One from before the labelling fields: it loads with its data as they were then (every label
  # observed), so that its config still loads the data.
  saved = tmp_path / "run" / "checkpoints" / "400" / "config" / "metadata"
  fields = json.loads(saved.read_text())
  for name in data_lib.LABELLING_FIELDS:
    del fields["data"][name]
  saved.write_text(json.dumps(fields))
  for loaded in (csvae_jax.load(workdir).config, trained_model.load_config(workdir)):
    assert (loaded.data.label_fraction, loaded.data.label_seed, loaded.data.unlabelled) == (
        1.0, 0, "missing")
  assert data_lib.load_dataset(loaded.data).splits["train"]["y_mask"].all()
