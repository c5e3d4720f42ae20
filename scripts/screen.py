r"""The same screen of settings for every model kind, scored on the validation split only, and each
kind's choice by one rule fixed before any run (docs/experiments/2026-12-02-protocol-screen/).

  python scripts/screen.py --config configs/procedural.py --workdir runs/screen

Every kind trains once per setting of --settings that applies to it (of: the config's defaults,
the encoder/decoder learning rate doubled, z of twice the size, and, for the kinds with an
adversary, its weight beta_h divided by 3), at the config's full budget with seed --seed, then
`eval.py --split validation` scores it: the tables' points are chosen on train and scored on
validation, so no test image takes part. The rule: per kind, the setting with the smallest sum
of its ranks on validation Method 1 (at the paper's points; higher is better) and on validation
target-changed (lower is better); ties go to the lower target-changed.

Writes into --workdir: KIND/SETTING/ (each run with its eval/; rerun the command to resume),
classifier/, screen.{md,json} (every run's validation figures and the choices) and
best_settings.json ({kind: overrides}, for `scripts/compare.py --settings`).

`--merge docs/experiments/2026-12-02-protocol-screen/screen.json` adds the runs of an earlier
screen (other kinds or settings, e.g. run on another machine or by another process) to the tables
and the choice; a run in --workdir replaces a merged one of the same kind and setting.
"""

import json
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import experiment
from csvae_jax import models
from csvae_jax import paths
from csvae_jax import summary

config_flags.DEFINE_config_file("config", None, "An image config, e.g. configs/procedural.py.")
flags.DEFINE_string("workdir", None, "Where the runs, the classifier and the screen's tables go.")
console.define_choice_list("kinds", models.KINDS, "Model kinds to screen.")
flags.DEFINE_integer("seed", 0, "config.seed of every run of the screen.")
console.define_choice_list("settings", experiment.SCREEN_SETTINGS,
                           "The settings screened, for every kind they apply to (the choice is "
                           "made among these); the runs go setting by setting, every kind's first.")
flags.DEFINE_list("merge", [], "Optional screen.json files of earlier screens on the same data: "
                  "their runs join the tables and the choice.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  base, root = f.config, f.workdir
  paths.check_workdir(root)
  earlier = {}
  for path in f.merge:
    for kind, runs in json.loads(paths.resolve(path).read_text())["runs"].items():
      earlier.setdefault(kind, {}).update(runs)
  out = {kind: dict(earlier.get(kind, {})) for kind in models.KINDS
         if kind in earlier or kind in f.kinds}
  best, lines = {}, []
  keep = ("Method 1", "Method 1 at the best point", "others kept, worst switch",
          "target-changed", "target-changed, on", "target-changed, off")
  for name in f.settings:
    for kind in f.kinds:
      overrides = experiment.screen_settings(base, kind).get(name)
      if overrides is None:
        continue
      config = experiment.with_overrides(base, {"seed": f.seed, "model.kind": kind, **overrides})
      run, timing = experiment.train_and_tables(config, os.path.join(root, kind, name),
                                                os.path.join(root, "classifier"), "validation")
      figures = {figure.name: value for figure, value in summary.figures(run).items()}
      out[kind][name] = {"overrides": overrides, "figures": figures, **timing}
  for kind in out:
    chosen = summary.choose_setting({n: r["figures"] for n, r in out[kind].items()})
    best[kind] = out[kind][chosen]["overrides"]
    for name, run in out[kind].items():
      cells = " | ".join(f"{run['figures'][k]:.5f}" if "target" in k else
                         f"{run['figures'][k]:.3f}" for k in keep)
      styles = " / ".join(f"{v:.2f}" for k, v in run["figures"].items() if "per face" in k)
      lines.append(f"| {models.KIND_NAMES[kind]} | {name}{' (chosen)' if name == chosen else ''}"
                   f" | {cells} | {styles} |")
  header = ("| kind | setting | " + " | ".join(keep) + " | styles per face |\n"
            + "|---" * (len(keep) + 3) + "|")
  note = (f"Validation split of {base.data.name} (data seed {base.data.seed}), seed {f.seed}, "
          f"{base.train.num_steps} steps of batch {base.train.batch_size} per run; points chosen "
          "on train" + (f"; with the runs of {', '.join(f.merge)}" if f.merge else "") + ".")
  with open(os.path.join(root, "screen.md"), "w") as file:
    file.write(f"{note}\n\n{header}\n" + "\n".join(lines) + "\n")
  with open(os.path.join(root, "screen.json"), "w") as file:
    json.dump({"note": note, "runs": out, "chosen": best}, file, indent=2)
  with open(os.path.join(root, "best_settings.json"), "w") as file:
    json.dump(best, file, indent=2)
  print(f"{note}\n\n{header}\n" + "\n".join(lines))


if __name__ == "__main__":
  app.run(main)
