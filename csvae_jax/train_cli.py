"""`csvae-train` (and the checkout's train.py): trains a model of the paper on a dataset, resuming
from --workdir if it holds a run.

  csvae-train --config configs/swiss_roll.py --workdir /tmp/swiss_roll \
      [--config.train.num_steps=5000]
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # Silences TensorFlow's import banner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import parallel

config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/swiss_roll.py.",
                                 lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, TensorBoard summaries and checkpoints; "
                    "rerunning with the same one resumes.")
parallel.define_distributed_flags(__name__)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  # Imported once the flags are read: --help and a flag's error come without TensorFlow's import.
  try:
    from csvae_jax import trainer  # pylint: disable=g-import-not-at-top
  except ModuleNotFoundError as error:  # TensorFlow, scikit-learn, ...: the [data] extra
    console.exit_needing_extra(error, "csvae-train")
  console.setup()
  parallel.initialize_from_flags()
  trainer.train_and_evaluate(flags.FLAGS.config, flags.FLAGS.workdir)


def run() -> None:
  """The console script's entry point."""
  console.run(main)


if __name__ == "__main__":
  run()
