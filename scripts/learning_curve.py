r"""Method 1 and target-changed MSE against training steps, from the checkpoints a comparison kept.

  python scripts/learning_curve.py --workdir runs/full_centred --kinds csvae,condvae_info --seed 0

Reads `scripts/compare.py`'s layout (WORKDIR/KIND/seedS/checkpoints, WORKDIR/classifier), computes
Tables 1 and 2 on `--split` (validation unless told: a curve read to choose a budget must not see
the test faces) at every kept checkpoint (into KIND/seedS/eval_stepN/; the last one's are
eval/'s), and writes WORKDIR/learning_curve[_validation].{png,json}.
"""

import json
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np

from csvae_jax import checkpoint
from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import models
from csvae_jax import plots
from csvae_jax import trained_model

flags.DEFINE_string("workdir", None, "A scripts/compare.py workdir.")
console.define_choice_list("kinds", models.KINDS, "Model kinds to draw.",
                           default=["csvae", "condvae_info"])
flags.DEFINE_integer("seed", 0, "The seed whose runs are drawn.")
flags.DEFINE_enum("split", "validation", list(evaluate.SEARCH_SPLIT),
                  "The split the tables score (their points are chosen on the one before it).")
flags.mark_flags_as_required(["workdir"])


def curve(root: str, kind: str, seed: int, split: str,
          dataset=None) -> tuple[list[dict], object]:
  """[{"step", "method1", "target_changed"}] on `split` at each kept checkpoint of KIND/seedS."""
  run = os.path.join(root, kind, f"seed{seed}")
  steps = checkpoint.make_manager(run, read_only=True).all_steps()
  points, suffix = [], evaluate.file_suffix(split)
  for step in sorted(steps):
    out_dir = os.path.join(run, "eval" if step == max(steps) else f"eval_step{step}")
    if not os.path.exists(os.path.join(out_dir, f"table2{suffix}.json")):
      model = trained_model.load(run, step=step)
      dataset = dataset or data_lib.load_evaluation_dataset(model.config.data)
      os.makedirs(out_dir, exist_ok=True)
      evaluate.write_tables(model.config, model, dataset, out_dir,
                            os.path.join(root, "classifier"), split)
    tables = {}
    for name in ("table1", "table2"):
      with open(os.path.join(out_dir, f"{name}{suffix}.json")) as f:
        tables[name] = json.load(f)
    points.append({"step": step, "method1": tables["table1"]["mean_accuracy"],
                   "target_changed": tables["table2"]["mean"]["target_changed"]})
  return points, dataset


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  root, dataset, curves = f.workdir, None, {}
  for kind in f.kinds:
    curves[kind], dataset = curve(root, kind, f.seed, f.split, dataset)
  name = os.path.join(root, "learning_curve" + evaluate.file_suffix(f.split))
  plots.plot_method_curves(name + ".png", {
      models.KIND_NAMES[kind]: (np.array([p["step"] for p in points]),
                                np.array([[p["method1"], p["target_changed"]] for p in points]))
      for kind, points in curves.items()}, "training step",
      title=f"Seed {f.seed}, {f.split} split, {root}")
  with open(name + ".json", "w") as file:
    json.dump(curves, file, indent=2)
  print(json.dumps(curves, indent=2))


if __name__ == "__main__":
  app.run(main)
