r"""Trains model kinds on one config with the same seeds and budget, scores each on a split, and
writes their tables side by side: mean ± sample sd over seeds, every seed's value, and CSVAE
paired against each other kind seed by seed.

  python scripts/compare.py --config configs/procedural.py --workdir runs/compare
  python scripts/compare.py --config configs/procedural.py --workdir runs/heldout \
      --config.data.seed=1 --seeds 10,11,12,13,14 --settings runs/screen/best_settings.json

The second is the held-out comparison of docs/experiments/2026-12-02-heldout-comparison/: faces
of another data seed than the screen's and seeds never used for a choice, each kind at the
setting its own validation screen chose (`scripts/screen.py`). `--split validation` scores the
validation split instead (its tables' points chosen on train), for choosing settings. `--merge
docs/experiments/2026-12-02-heldout-comparison/summary.json` summarises the runs in --workdir
together with those of an earlier summary (every seed's figures are in its "runs").

Writes into --workdir: each run in KIND/seedS/ with its eval/ (rerun the same command after an
interruption to resume), classifier/ (one attribute classifier shared by every run),
summary.{md,json} (every figure of Tables 1 and 2 and of the styles reached, per kind, over
every finished run in --workdir, and the paired comparisons), kinds_ATTRIBUTE.png (the paper's
Figs. 3-4, first seed, of the kinds whose checkpoints are there) and runs.json (the settings and
time of each run, one entry per invocation).
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import experiment
from csvae_jax import paper_figures
from csvae_jax import models
from csvae_jax import paths
from csvae_jax import summary
from csvae_jax import trained_model

config_flags.DEFINE_config_file("config", None, "An image config, e.g. configs/procedural.py; "
                                "override fields as in train.py (--config.train.num_steps=800).")
flags.DEFINE_string("workdir", None, "Where the runs, the classifier and the tables go.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "config.seed of each run (the data stay the same).")
console.define_choice_list("kinds", models.KINDS, "Model kinds to compare.")
flags.DEFINE_enum("split", "test", ["test", "validation"], "The split the tables score.")
flags.DEFINE_string("settings", "", "Optional JSON file {kind: {\"group.field\": value}}: each "
                    "kind's own overrides on top of --config (scripts/screen.py writes one).")
flags.DEFINE_list("merge", [], "Optional summary.json files of earlier comparisons on the same "
                  "data and split (e.g. run on another machine): their runs are summarised with "
                  "the runs in --workdir, which replace theirs on a common kind and seed.")
flags.mark_flags_as_required(["config", "workdir"])

# The paper's Table 1 (Method 1, %), for the datasets it reports, printed beside ours.
PAPER_TABLE1 = {"tfd": {"vae": 19.08, "condvae": 62.97, "condvae_info": 62.27, "csvae": 76.23},
                "celeba/glasses": {"vae": 25.03, "condvae": 96.04, "condvae_info": 95.16,
                                   "csvae": 99.59},
                "celeba/facial_hair": {"vae": 49.81, "condvae": 88.93, "condvae_info": 88.03,
                                       "csvae": 97.75}}


def paper_table1_markdown() -> str:
  """The paper's Table 1 as a markdown table: datasets as columns, kinds as rows."""
  datasets = list(PAPER_TABLE1)
  lines = ["The paper's Table 1 (Method 1, %; Klys et al. 2018), for comparison:", "",
           "| | " + " | ".join(datasets) + " |", "|---" * (len(datasets) + 1) + "|"]
  for kind in models.KINDS:
    lines.append(f"| {models.KIND_NAMES[kind]} | "
                 + " | ".join(f"{PAPER_TABLE1[d][kind]:.2f}" for d in datasets) + " |")
  return "\n".join(lines) + "\n"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  base, root = f.config, f.workdir
  settings = json.loads(paths.resolve(f.settings).read_text()) if f.settings else {}
  paths.check_workdir(root)
  dataset = data_lib.load_dataset(base.data)
  if len(dataset.splits["train"]["x"].shape) != 4:
    raise app.UsageError(f"{base.data.name} is not an image dataset: Tables 1 and 2 need images.")
  start, timings, first_models = time.perf_counter(), [], {}
  seeds = [int(s) for s in f.seeds]
  for seed in seeds:
    for kind in f.kinds:
      overrides = {"seed": seed, "model.kind": kind, **settings.get(kind, {})}
      config = experiment.with_overrides(base, overrides)
      workdir = os.path.join(root, kind, f"seed{seed}")
      _, timing = experiment.train_and_tables(config, workdir, os.path.join(root, "classifier"),
                                              f.split)
      timings.append({"kind": kind, "seed": seed, "overrides": settings.get(kind, {}), **timing})
      done, total = len(timings), len(seeds) * len(f.kinds)
      elapsed = time.perf_counter() - start
      logging.info("Run %d/%d (%s, seed %d) done; %.0f s so far, ETA %.0f s", done, total, kind,
                   seed, elapsed, elapsed / done * (total - done))
      if seed == seeds[0]:
        try:
          first_models[kind] = trained_model.load(workdir)
        except FileNotFoundError:  # a run copied with its tables alone
          logging.info("%s has tables but no checkpoint: not in the kinds figures.", workdir)

  for attribute in dataset.label_names if first_models else ():
    paper_figures.kinds_figure(first_models, dataset.splits[f.split], attribute,
                               os.path.join(root, f"kinds_{attribute}.png"))
  # Every finished run in the workdir, so that kinds run on different seeds by several
  # invocations (more seeds for some kinds) are summarised together.
  results = experiment.collect(root, f.split, base.train.num_steps)
  merged = {}
  for path in f.merge:
    for kind, by_seed in summary.runs_of(json.loads(paths.resolve(path).read_text())).items():
      merged.setdefault(kind, {}).update(by_seed)
  out = summary.summarise({kind: results[kind] for kind in models.KINDS if kind in results},
                          merged={kind: merged[kind] for kind in models.KINDS if kind in merged})
  seeds_run = "; ".join(f"{models.KIND_NAMES[k]} {', '.join(v)}" for k, v in out["runs"].items())
  note = (f"{base.data.name}, data seed {base.data.seed}, {f.split} split; every finished run in "
          f"{root}" + (f" and in {', '.join(f.merge)}" if f.merge else "")
          + f" (seeds: {seeds_run}); {base.train.num_steps} steps of batch "
          f"{base.train.batch_size}; mean ± sample sd over seeds"
          + (f"; each kind's settings from {f.settings}" if f.settings else "") + ".")
  markdown = summary.markdown(out, models.KIND_NAMES, note) + "\n" + paper_table1_markdown()
  with open(os.path.join(root, "summary.md"), "w") as file:
    file.write(markdown)
  with open(os.path.join(root, "summary.json"), "w") as file:
    json.dump({"note": note, "settings": settings, **out}, file, indent=2)
  total = time.perf_counter() - start
  log = paths.resolve(root) / "runs.json"  # one entry per invocation, the earlier ones kept
  invocations = json.loads(log.read_text())["invocations"] if log.exists() else []
  invocations.append({"kinds": f.kinds, "seeds": seeds, "runs": timings,
                      "total_seconds": round(total, 1)})
  log.write_text(json.dumps({"invocations": invocations}, indent=2))
  print(markdown)
  print(f"Total {total / 60:.1f} min; runs, tables and figures in {root}")


if __name__ == "__main__":
  app.run(main)
