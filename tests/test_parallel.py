"""Data parallelism: 1 vs 8 (fake CPU) devices and 1 vs 2 processes train to the same parameters."""

import os
import socket
import subprocess
import sys

import jax
import numpy as np

import csvae_jax

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = ["--config.train.num_steps=200", "--config.train.ckpt_every=200",
         "--config.train.eval_every=200"]


def _train(workdir, devices=1, extra=(), env_extra=None):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             **(env_extra or {}))
  return subprocess.Popen(
      [sys.executable, "train.py", "--config", "configs/tiny.py", "--workdir", str(workdir),
       *STEPS, *extra], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True)


def _finish(process, timeout=240):
  try:
    output, _ = process.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    process.kill()
    output, _ = process.communicate()
  assert process.returncode == 0, output[-3000:]
  return output


def _assert_same_params(workdir_a, workdir_b, rtol, atol):
  a, b = csvae_jax.load(str(workdir_a)), csvae_jax.load(str(workdir_b))
  assert a.step == b.step == 200
  # Both players: the encoder/decoder and the adversary.
  players_a, players_b = (a.params, a.adversary_params), (b.params, b.adversary_params)
  assert a.adversary_params is not None
  for x, y in zip(jax.tree.leaves(players_a), jax.tree.leaves(players_b), strict=True):
    np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def test_one_and_eight_devices_train_to_the_same_parameters(tmp_path):
  one, eight = _train(tmp_path / "one"), _train(tmp_path / "eight", devices=8)
  _finish(one)
  assert "Devices: 8" in _finish(eight)
  # Only the order of the batch reductions differs.
  _assert_same_params(tmp_path / "one", tmp_path / "eight", rtol=1e-3, atol=1e-4)


def test_two_processes_train_like_one(tmp_path):
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  flags = [f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2"]
  workers = [_train(tmp_path / "two", extra=[*flags, f"--process_id={i}"]) for i in range(2)]
  single = _train(tmp_path / "one")
  outputs = [_finish(w) for w in workers]
  _finish(single)
  assert "Devices: 2" in outputs[0] and "processes: 2" in outputs[0]
  _assert_same_params(tmp_path / "one", tmp_path / "two", rtol=1e-3, atol=1e-4)
