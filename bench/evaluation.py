"""Where an evaluation's time goes: its seconds and the XLA compilations it triggers.

  python bench/evaluation.py                                   # tiny 32x32 faces, 20 steps
  python bench/evaluation.py --config configs/procedural.py --workdir runs/procedural

Trains the config into --workdir (or resumes it: a trained workdir is only evaluated), then runs
`evaluate.evaluate` (probes, figures, Tables 1 and 2, styles) twice (--repeats) in this process
on the validation split: the first pays every compilation, the second reuses them, so their
difference is the compilation's share. The judge classifier is trained once beforehand (not
timed). Prints one line per run: seconds, backend compilations and their seconds
(jax.monitoring's count).
"""

import collections
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from jax import monitoring
from ml_collections import config_flags

from csvae_jax import classifier as classifier_lib
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import trainer

config_flags.DEFINE_config_file("config", os.path.join(REPO, "configs", "tiny_images.py"),
                                "An image config.", lock_config=False)
flags.DEFINE_integer("repeats", 2, "Evaluations in the process: the first pays the compilations.")
flags.DEFINE_string("workdir", None, "The run to evaluate (trained first if need be); default: "
                    "a temporary folder.")

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def main(argv):
  del argv
  config = flags.FLAGS.config
  workdir = flags.FLAGS.workdir or tempfile.mkdtemp(prefix="bench_evaluation_")
  trainer.train_and_evaluate(config, workdir)
  classifier_dir = os.path.join(workdir, "classifier")
  dataset = data_lib.load_evaluation_dataset(config.data)
  classifier_lib.load_or_train(config, classifier_dir, dataset.splits, dataset.label_names,
                               dataset.traits.exclusive, dataset.traits.num_styles)
  compiles = collections.Counter()
  def count(event: str, duration: float, **kwargs):
    del kwargs
    if event == _COMPILE_EVENT:
      compiles["n"] += 1
      compiles["s"] += duration
  monitoring.register_event_duration_secs_listener(count)
  for i in range(flags.FLAGS.repeats):
    compiles.clear()
    start = time.perf_counter()
    evaluate.evaluate(config, workdir, classifier_dir=classifier_dir, split="validation")
    print(f"evaluation {i + 1}: {time.perf_counter() - start:.1f} s, {compiles['n']} compilations "
          f"taking {compiles['s']:.1f} s", flush=True)


if __name__ == "__main__":
  app.run(main)
