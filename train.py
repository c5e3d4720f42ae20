"""Trains a model of the paper on a dataset, resuming from --workdir if it holds a run.

  python train.py --config configs/swiss_roll.py --workdir /tmp/swiss_roll [--config.train.num_steps=5000]
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # Silences TensorFlow's import banner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from csvae_jax import trainer

config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/swiss_roll.py.",
                                 lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, TensorBoard summaries and checkpoints; "
                    "rerunning with the same one resumes.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  trainer.train_and_evaluate(flags.FLAGS.config, flags.FLAGS.workdir)


if __name__ == "__main__":
  app.run(main)
