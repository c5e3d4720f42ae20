r"""Stores the default edit points in a checkpoint written before they were kept in checkpoints
(older workdirs), so that `csvae_jax.load` and `switch_attribute` work on it without the data.

  python scripts/add_switch_points.py --workdir runs/old_run [--step 2500]

Needs the run's dataset (as `eval.py` does; `--data_dir` where it moved). A checkpoint that has
all its points is left as it is; one that lacks CSVAE's default point of switching on (the densest
encoding, kept since 2026-12-04) gets every point computed again.
"""

import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

import csvae_jax
from csvae_jax import checkpoint
from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import switch_points

flags.DEFINE_string("workdir", None, "The run whose checkpoint lacks its switch points.")
flags.DEFINE_integer("step", None, "The checkpoint step; default the latest.")
flags.DEFINE_string("data_dir", "", "Where the run's data are now, if they moved.")
flags.mark_flags_as_required(["workdir"])


def add(workdir: str, step: int | None = None, data_dir: str = "") -> bool:
  """Computes and stores the switch points of `workdir`'s checkpoint; False if it had them."""
  model = csvae_jax.load(workdir, step)
  if not switch_points.incomplete(model.switch_points, model.spec):
    return False
  config = model.config
  if data_dir:
    config.data.data_dir = data_dir
  dataset = data_lib.load_dataset(config.data)
  checkpoint.add_switch_points(workdir, model.step, switch_points.compute(
      model.encode, model.spec, dataset.splits, config.eval.probe_max_train, model.step))
  return True


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  added = add(f.workdir, f.step, f.data_dir)
  logging.info("%s %s", "Stored the switch points of" if added else "Already has its points:",
               f.workdir)


if __name__ == "__main__":
  app.run(main)
