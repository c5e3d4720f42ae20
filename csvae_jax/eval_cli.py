"""`csvae-eval` (and the checkout's eval.py): evaluates the model in --workdir: metrics, the
paper's tables and figures into --workdir/eval.

  csvae-eval --workdir runs/swiss_roll      # with the config the checkpoint was trained with
  csvae-eval --workdir runs/procedural      # images: + table1/2.{md,json}, styles.json, figures
  csvae-eval --workdir runs/procedural --config.data.data_dir=/new/place   # the data moved
  csvae-eval --workdir runs/procedural --config configs/procedural.py \
      --config.eval.probe_max_train=2000     # other eval settings; model and data must match

Without --config, `--config.<group>.<field>=<value>` overrides a field of the checkpoint's own
config (where the data are, eval settings). On a multi-host slice every host runs it with
--distributed: process 0 evaluates and writes, the others wait for it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # Silences TensorFlow's import banner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import parallel
from csvae_jax import trained_model

config_flags.DEFINE_config_file(
    "config", None, "Optional: the config file the model was trained with, to change its eval.* "
    "settings (a differing model or data field is refused). Default: the checkpoint's own, "
    "whose fields --config.<group>.<field>=<value> overrides.", lock_config=True)
flags.DEFINE_string("workdir", None, "The training run's directory.")
flags.DEFINE_string("classifier_dir", "",
                    "Image data: where the attribute classifier of Table 1 is kept (trained there "
                    "once, reused later); default WORKDIR/classifier. Share one between runs on "
                    "the same data.")
flags.DEFINE_enum("split", "test", ["test", "validation"],
                  "The split scored: test for results; validation to choose settings (the tables' "
                  "points are then chosen on train). Validation outputs end in _validation.")
parallel.define_distributed_flags(__name__)
flags.mark_flags_as_required(["workdir"])

# How long the other processes of a multi-host eval wait for process 0's: a day.
WAIT_FOR_PROCESS_ZERO_S = 24 * 3600


def main(argv: list[str]) -> None:
  overrides = [arg for arg in argv[1:] if arg.startswith("--")]
  if len(argv) - 1 > len(overrides):
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  # Imported once the flags are read: --help and a flag's error come without TensorFlow's import.
  try:
    from csvae_jax import evaluate  # pylint: disable=g-import-not-at-top
  except ModuleNotFoundError as error:  # TensorFlow, scikit-learn, ...: the [data] extra
    console.exit_needing_extra(error, "csvae-eval")
  console.setup()
  parallel.initialize_from_flags()
  values = flags.FLAGS
  if values["config"].present:
    config = values.config
  else:
    config = (console.override_config(trained_model.load_config(values.workdir), overrides)
              if overrides else None)
  if jax.process_index() == 0:
    evaluate.evaluate(config, values.workdir, values.classifier_dir, values.split)
  if jax.process_count() > 1:
    parallel.wait_for_all_processes("csvae_jax: evaluated by process 0", WAIT_FOR_PROCESS_ZERO_S)


def run() -> None:
  """The console script's entry point."""
  console.run(main, flags_parser=console.parse_flags_with_config_overrides)


if __name__ == "__main__":
  run()
