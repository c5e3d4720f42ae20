"""Evaluates the model in --workdir: metrics, the paper's tables and figures into --workdir/eval.

  python eval.py --config configs/swiss_roll.py --workdir /tmp/swiss_roll
  python eval.py --config configs/procedural.py --workdir runs/procedural   # + table1/2.{md,json}
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from csvae_jax import evaluate

config_flags.DEFINE_config_file("config", None, "Config file the model was trained with.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "The training run's directory.")
flags.DEFINE_string("classifier_dir", "",
                    "Image data: where the attribute classifier of Table 1 is kept (trained there "
                    "once, reused later); default WORKDIR/classifier. Share one between runs on "
                    "the same data.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  evaluate.evaluate(flags.FLAGS.config, flags.FLAGS.workdir, flags.FLAGS.classifier_dir)


if __name__ == "__main__":
  app.run(main)
