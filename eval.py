"""Evaluates the model in --workdir: metrics, the paper's tables and figures into --workdir/eval.

  python eval.py --workdir runs/swiss_roll      # with the config the checkpoint was trained with
  python eval.py --workdir runs/procedural      # images: + table1/2.{md,json}, styles.json, figures
  python eval.py --workdir runs/procedural --config configs/procedural.py \
      --config.eval.probe_max_train=2000         # other eval settings; model and data must match
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import evaluate

config_flags.DEFINE_config_file(
    "config", None, "Optional: the config file the model was trained with, to change its eval.* "
    "settings (a differing model or data field is refused). Default: the checkpoint's own.",
    lock_config=True)
flags.DEFINE_string("workdir", None, "The training run's directory.")
flags.DEFINE_string("classifier_dir", "",
                    "Image data: where the attribute classifier of Table 1 is kept (trained there "
                    "once, reused later); default WORKDIR/classifier. Share one between runs on "
                    "the same data.")
flags.DEFINE_enum("split", "test", ["test", "validation"],
                  "The split scored: test for results; validation to choose settings (the tables' "
                  "points are then chosen on train). Validation outputs end in _validation.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  evaluate.evaluate(flags.FLAGS.config, flags.FLAGS.workdir, flags.FLAGS.classifier_dir,
                    flags.FLAGS.split)


if __name__ == "__main__":
  app.run(main)
