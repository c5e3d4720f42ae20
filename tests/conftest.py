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
  """One on-disk XLA cache per test process and the train.py runs it starts.

  Many tests compile the same programs (the tiny config's init and steps, in-process and in
  subprocesses); the cache compiles each once. A cached executable is the same binary, so results
  are bit-identical to a fresh compile. Each pytest-xdist worker (`-n 2`) has its own cache in its
  own temporary directory; with one test file per worker, the two caches share no program.
  """
  cache = str(tmp_path_factory.mktemp("jax_cache"))
  settings = {"jax_compilation_cache_dir": cache, "jax_persistent_cache_min_compile_time_secs": 0.5}
  for name, value in settings.items():
    jax.config.update(name, value)
    os.environ[name.upper()] = str(value)


@pytest.fixture
def config():
  """A fresh tiny config (swiss roll, small nets, a few hundred steps) for each test."""
  return tiny.get_config()
