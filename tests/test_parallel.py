"""Data parallelism: 1 vs 8 (fake CPU) devices and 1 vs 2 processes train to the same parameters;
2 processes evaluate as 1 does and wait for each other at a barrier."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys

import clu
import jax
import numpy as np
import pytest

import celeba_fixtures
import tensorboard_events
import csvae_jax
from csvae_jax import evaluate


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = ["--config.train.num_steps=200", "--config.train.ckpt_every=200",
         "--config.train.eval_every=200"]


def _train(workdir, devices=1, extra=(), config="configs/tiny.py", steps=STEPS,
           program="train.py"):
  xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
  env = dict(os.environ, XLA_FLAGS=xla_flags.strip())
  config_flags = ["--config", config, *steps] if program == "train.py" else []
  return subprocess.Popen(
      [sys.executable, program, "--workdir", str(workdir), *config_flags, *extra], cwd=REPO,
      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process, timeout=240):
  try:
    output, _ = process.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    process.kill()
    output, _ = process.communicate()
  assert process.returncode == 0, output[-3000:]
  return output


def _assert_same_params(workdir_a, workdir_b, rtol, atol, step=200):
  a, b = csvae_jax.load(str(workdir_a)), csvae_jax.load(str(workdir_b))
  assert a.step == b.step == step
  # Both players: the encoder/decoder and the adversary.
  players_a, players_b = (a.params, a.adversary_params), (b.params, b.adversary_params)
  assert a.adversary_params is not None
  for x, y in zip(jax.tree.leaves(players_a), jax.tree.leaves(players_b), strict=True):
    np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def test_one_and_eight_devices_train_to_the_same_parameters(tmp_path):
  one, eight = _train(tmp_path / "one"), _train(tmp_path / "eight", devices=8)
  _finish(one)
  output = _finish(eight)
  assert "Devices: 8" in output
  # Its INFO lines are its own and clu's (metrics, progress), not every library's (orbax's...).
  logged = set(re.findall(r"^I\d{4} [\d:.]+ +\d+ ([\w.]+):\d+\]", output, re.MULTILINE))
  ours = {name for package in (csvae_jax, clu) for _, _, names in os.walk(
      os.path.dirname(package.__file__)) for name in names}
  assert "trainer.py" in logged and logged <= ours, logged - ours
  # Only the order of the batch reductions differs.
  _assert_same_params(tmp_path / "one", tmp_path / "eight", rtol=1e-3, atol=1e-4)


def _distributed_flags():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  return [f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2"]


def test_two_processes_prepare_a_shared_celeba_data_dir_once(tmp_path):
  """configs/celeba_glasses.py on the CelebA fixture, 2 processes sharing one fresh data_dir:
  process 0 prepares the subset while process 1 waits, both train on their halves of each batch,
  and the parameters equal a 1-process run's (which prepares its own data_dir)."""
  folder = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 60)
  steps = ["--config.train.num_steps=4", "--config.train.batch_size=8",
           "--config.train.log_every=4", "--config.train.eval_every=4",
           "--config.train.ckpt_every=4", "--config.eval.max_examples=8",
           f"--config.data.manual_dir={folder}",
           # Narrow nets: the data preparation is under test, and they compile in a third the time.
           "--config.model.conv_channels=(8,8,8,8)", "--config.model.adversary_hidden=(16,)"]
  def train(workdir, data_dir, extra=()):
    return _train(workdir, extra=[f"--config.data.data_dir={data_dir}", *extra],
                  config="configs/celeba_glasses.py", steps=steps)
  flags = _distributed_flags()
  workers = [train(tmp_path / "two", tmp_path / "shared", [*flags, f"--process_id={i}"])
             for i in range(2)]
  single = train(tmp_path / "one", tmp_path / "own")
  outputs = [_finish(w, timeout=400) for w in workers]
  _finish(single, timeout=400)
  assert "Devices: 2" in outputs[0] and "processes: 2" in outputs[0]
  assert ["Preparing CelebA" in output for output in outputs] == [True, False]
  _assert_same_params(tmp_path / "one", tmp_path / "two", rtol=1e-3, atol=1e-4, step=4)


_LATE_BARRIER = """
import sys, time
from absl import flags
import jax
from csvae_jax import parallel
parallel.define_distributed_flags("__main__")
flags.FLAGS(sys.argv)
parallel.initialize_from_flags()
if jax.process_index() == 0:
  time.sleep(4)
start = time.time()
parallel.wait_for_all_processes("csvae_jax test: process 0 is late", timeout_s=60)
print(f"waited {time.time() - start:.1f} s")
"""


def test_processes_wait_at_a_barrier_for_one_that_is_late():
  """`wait_for_all_processes(name, timeout_s=60)`: process 1 waits the 4 s process 0 takes."""
  flags = _distributed_flags()
  workers = [subprocess.Popen([sys.executable, "-c", _LATE_BARRIER, *flags, f"--process_id={i}"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
  outputs = [_finish(worker, timeout=120) for worker in workers]
  waited = float(outputs[1].rsplit("waited ", 1)[1].split()[0])
  assert 3.0 <= waited < 60, outputs[1][-2000:]


def _eval_scalars(workdir):
  """{tag: value} of the trainer's "eval/" scalars in the TensorBoard event files of `workdir`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return {value.tag: float(tf.make_ndarray(value.tensor))
          for event in tensorboard_events.read(workdir)
          for value in event.summary.value if value.tag.startswith("eval/")}


def test_two_processes_evaluate_a_two_process_run_as_one_process_does(tmp_path):
  """Two processes train a run whose training-time evaluation equals one process's; then eval.py
  --distributed on every process of a slice: process 0 evaluates and writes, the other waits for
  it; the metrics equal one process's eval of a copy of the workdir. Both evals take an override
  of the checkpoint's config, as after the data moved."""
  steps = ["--config.train.num_steps=10", "--config.train.steps_per_dispatch=10",
           "--config.train.log_every=10", "--config.train.eval_every=10",
           "--config.train.ckpt_every=10"]  # the processes' start and compilation dominate
  flags = _distributed_flags()
  workers = [_train(tmp_path / "run", steps=steps, extra=[*flags, f"--process_id={i}"])
             for i in range(2)]
  one = _train(tmp_path / "one", steps=steps)
  for worker in [*workers, one]:
    _finish(worker)
  # The trainer's own evaluation (7 batches of the test split) splits each batch between them too.
  two_scalars, one_scalars = _eval_scalars(tmp_path / "run"), _eval_scalars(tmp_path / "one")
  assert sorted(two_scalars) == sorted(one_scalars) and "eval/loss" in one_scalars
  for tag, value in one_scalars.items():
    assert two_scalars[tag] == pytest.approx(value, rel=1e-4, abs=1e-6), tag
  shutil.copytree(tmp_path / "run", tmp_path / "copy")
  moved = [f"--config.data.data_dir={tmp_path / 'moved'}"]
  flags = _distributed_flags()
  evaluators = [_train(tmp_path / "run", program="eval.py",
                       extra=[*flags, f"--process_id={i}", *moved]) for i in range(2)]
  outputs = [_finish(evaluator) for evaluator in evaluators]
  assert "Eval of" in outputs[0] and "Eval of" not in outputs[1]
  config = csvae_jax.load(str(tmp_path / "copy")).config
  config.data.data_dir = str(tmp_path / "moved")
  single = evaluate.evaluate(config, str(tmp_path / "copy"))
  with open(tmp_path / "run" / "eval" / "metrics.json") as f:
    assert json.load(f) == single
  assert single["step"] == 10


def test_a_batch_the_devices_cannot_share_is_refused_in_one_line(tmp_path):
  process = _train(tmp_path / "run", devices=8,
                   steps=[*STEPS, "--config.train.batch_size=12"])
  output, _ = process.communicate(timeout=240)
  assert process.returncode == 2, output[-3000:]
  assert ("Error: config.train.batch_size=12 is not divisible by the 8 devices; use a multiple "
          "of 8.") in output
