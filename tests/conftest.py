"""Test setup: quiet TensorFlow, strict rank promotion, a shared compilation cache, the tiny config."""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_NUMPY_RANK_PROMOTION", "raise")

import jax  # pylint: disable=g-import-not-at-top
import pytest  # pylint: disable=g-import-not-at-top

from configs import tiny  # pylint: disable=g-import-not-at-top


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
  """One on-disk XLA cache for the whole run: every test process and the train.py runs they start.

  Many tests compile the same programs (the tiny config's init and steps, in-process and in
  subprocesses, in several test files); the cache compiles each once. A cached executable is the
  same binary, so results are bit-identical to a fresh compile. The pytest-xdist workers (`-n 2`)
  share the run's temporary directory, so a program one worker compiled loads in the other; a
  reader that meets an entry still being written gets a read error, which JAX turns into a
  warning and a compile.
  """
  if os.environ.get("PYTEST_XDIST_WORKER"):  # the run's directory, above each worker's own
    cache = tmp_path_factory.getbasetemp().parent / "jax_cache"
    cache.mkdir(exist_ok=True)
  else:
    cache = tmp_path_factory.mktemp("jax_cache")
  cache = str(cache)
  settings = {"jax_compilation_cache_dir": cache, "jax_persistent_cache_min_compile_time_secs": 0.5}
  for name, value in settings.items():
    jax.config.update(name, value)
    os.environ[name.upper()] = str(value)


@pytest.fixture
def config():
  """A fresh tiny config (swiss roll, small nets, a few hundred steps) for each test."""
  return tiny.get_config()
