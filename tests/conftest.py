"""Test setup: quiet TensorFlow, strict rank promotion, and the tiny config."""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_NUMPY_RANK_PROMOTION", "raise")

import pytest  # pylint: disable=g-import-not-at-top

from configs import tiny  # pylint: disable=g-import-not-at-top


@pytest.fixture
def config():
  """A fresh tiny config (swiss roll, small nets, a few hundred steps) for each test."""
  return tiny.get_config()
