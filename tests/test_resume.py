"""Reliability: SIGKILLed runs resume to bit-identical parameters; a checkpoint of another model
or data is not resumed; workdir errors are clear."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import tiny
import csvae_jax
from csvae_jax import checkpoint
from csvae_jax import paths

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_STEPS = 1500
FLAGS = [f"--config.train.num_steps={NUM_STEPS}", "--config.train.ckpt_every=100",
         "--config.train.log_every=100", "--config.train.eval_every=1000"]


def _start(workdir, stdout=subprocess.PIPE):
  return subprocess.Popen(
      [sys.executable, "train.py", "--config", "configs/tiny.py", "--workdir", str(workdir),
       *FLAGS], cwd=REPO, text=True, stdout=stdout, stderr=subprocess.STDOUT)


def _finish(process):
  output, _ = process.communicate(timeout=300)
  assert process.returncode == 0, (output or "")[-3000:]


def _params(workdir):
  model = csvae_jax.load(str(workdir))
  return model.step, jax.tree.leaves((model.params, model.adversary_params))


def test_runs_killed_twice_resume_to_bit_identical_parameters(tmp_path):
  with open(tmp_path / "unbroken.log", "w") as log:  # Alongside the killed runs.
    unbroken = _start(tmp_path / "unbroken", stdout=log)
  rng = np.random.default_rng()
  resumed_from = []
  for _ in range(2):
    process = _start(tmp_path / "killed")
    saves = rng.integers(2, 5)  # Kill after a random number of saves, at a random moment after.
    for line in process.stdout:
      saves -= "Saving the checkpoint" in line
      if not saves:
        break
    try:
      process.wait(timeout=rng.uniform(0.0, 0.3))  # a save takes about 0.2 s here
    except subprocess.TimeoutExpired:
      process.kill()  # SIGKILL: no cleanup, possibly midway through an async checkpoint save.
    process.communicate(timeout=60)
    saved = [int(d) for d in os.listdir(tmp_path / "killed" / "checkpoints") if d.isdigit()]
    resumed_from.append(max(saved, default=0))
  _finish(_start(tmp_path / "killed"))
  _finish(unbroken)
  for run in ("unbroken", "killed"):  # config.train.max_checkpoints, 3: the last three are kept
    kept = [int(d) for d in os.listdir(tmp_path / run / "checkpoints") if d.isdigit()]
    assert sorted(kept) == [NUM_STEPS - 200, NUM_STEPS - 100, NUM_STEPS], (run, kept)
  # Both kills landed mid-run (otherwise this test would prove nothing).
  assert all(0 < step < NUM_STEPS for step in resumed_from), resumed_from
  step_a, unbroken = _params(tmp_path / "unbroken")
  step_b, killed = _params(tmp_path / "killed")
  assert step_a == step_b == NUM_STEPS
  for a, b in zip(unbroken, killed, strict=True):
    np.testing.assert_array_equal(a, b)


def test_missing_workdir_parent_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="The parent of --workdir .* does not exist"):
    paths.check_workdir(str(tmp_path / "typo" / "run"))


def test_workdir_that_is_a_file_is_a_clear_error(tmp_path):
  (tmp_path / "file").write_text("")
  with pytest.raises(NotADirectoryError, match="is a file; give a directory"):
    paths.check_workdir(str(tmp_path / "file"))


def test_read_only_workdir_is_a_clear_error(tmp_path):
  if os.geteuid() == 0:  # root writes through file modes; sysfs refuses even root.
    workdir = "/sys"
  else:
    workdir = tmp_path / "read_only"
    workdir.mkdir(mode=0o555)
  with pytest.raises(PermissionError, match="is not writable .*choose a directory"):
    paths.check_workdir(str(workdir))


def test_a_checkpoint_refuses_another_model_or_data_but_not_another_schedule_or_data_place():
  saved = json.loads(tiny.get_config().to_json())  # as checkpoint.save keeps it
  config = tiny.get_config()
  config.optim.vae.learning_rate *= 2
  config.train.num_steps += 100
  config.data.data_dir = "/elsewhere"
  checkpoint.check_compatible(saved, config, 400, "w")  # may change between runs
  config.data.seed += 1
  config.model.z_dim += 1
  with pytest.raises(ValueError, match=(
      rf"step 400 in w was written with a different config:\n"
      rf"  data.seed: checkpoint {config.data.seed - 1}, config {config.data.seed}\n"
      rf"  model.z_dim: checkpoint {config.model.z_dim - 1}, config {config.model.z_dim}\n")):
    checkpoint.check_compatible(saved, config, 400, "w")
  # A sequence reads as the config writes it (a tuple), not as JSON stored it.
  wider = tiny.get_config()
  wider.model.hidden = (64, 64)
  with pytest.raises(ValueError, match=r"model.hidden: checkpoint \(32, 32\), config \(64, 64\)"):
    checkpoint.check_compatible(saved, wider, 400, "w")
  # A field added since the checkpoint was written is no difference; one removed since is.
  older = json.loads(tiny.get_config().to_json())
  del older["model"]["z_dim"]
  checkpoint.check_compatible(older, tiny.get_config(), 400, "w")
  older["model"]["retired_option"] = 1
  with pytest.raises(ValueError, match=r"model.retired_option: checkpoint 1, config '<absent>'"):
    checkpoint.check_compatible(older, tiny.get_config(), 400, "w")
