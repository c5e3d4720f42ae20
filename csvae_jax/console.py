"""Console output of the command-line programs: the run's own lines, library internals quieter.

By default the programs log this library's lines (config, data, progress, metrics, checkpoints)
and clu's metric and parameter tables at INFO, and every other library (orbax, JAX, TensorFlow)
at WARNING. `--verbosity=0` shows every library's INFO lines, `--verbosity=1` their DEBUG lines
(absl's own flag).
"""

import logging as std_logging
import os
import sys

from absl import flags
from absl import logging

_RUN_PACKAGES = ("csvae_jax", "clu")


class _RunLines(std_logging.Filter):
  """Passes warnings and errors, and INFO lines of the running program and of _RUN_PACKAGES."""

  def __init__(self, main_file: str):
    super().__init__()
    self._main_file = main_file

  def filter(self, record: std_logging.LogRecord) -> bool:
    path = record.pathname
    return (record.levelno >= std_logging.WARNING or path == self._main_file
            or any(f"{os.sep}{package}{os.sep}" in path for package in _RUN_PACKAGES))


def setup() -> None:
  """Configures absl logging as the module doc says; call once, in `main`."""
  if flags.FLAGS["verbosity"].present:  # given on the command line: every library at that level
    return
  logging.set_verbosity(logging.INFO)
  main_file = getattr(sys.modules["__main__"], "__file__", "") or ""
  # ABSLHandler hands records to its python handler without applying its own filters.
  logging.get_absl_handler().python_handler.addFilter(_RunLines(os.path.abspath(main_file)))
