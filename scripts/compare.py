r"""Trains the four model kinds on one config with the same seeds and budget, evaluates each, and
writes the paper's Tables 1 and 2 side by side (mean and standard deviation over seeds).

  python scripts/compare.py --config configs/procedural.py --workdir runs/compare
  python scripts/compare.py --config configs/procedural.py --workdir runs/compare_short \
      --seeds 0,1,2 --config.train.num_steps=800 --config.optim.vae.warmup_steps=100 \
      --config.optim.adversary.warmup_steps=100 --config.eval.probe_max_train=2000

The second is the README's reduced budget: about 37 min on 2 CPU cores. The command writes into
--workdir: each run in KIND/seedS/ with its eval/ (rerun the same command after an interruption
to resume), classifier/ (one attribute classifier shared by every run), table1.{md,json},
table2.{md,json}, styles.{md,json} (distinct ground-truth styles reached, where the data know
them), kinds_ATTRIBUTE.png (the paper's Figs. 3-4, first seed) and runs.json (time of each run).
"""

import copy
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
import numpy as np

from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import figures
from csvae_jax import models
from csvae_jax import trained_model
from csvae_jax import trainer

config_flags.DEFINE_config_file("config", None, "An image config, e.g. configs/procedural.py; "
                                "override fields as in train.py (--config.train.num_steps=800).")
flags.DEFINE_string("workdir", None, "Where the runs, the classifier and the tables go.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "config.seed of each run (the data stay the same).")
flags.DEFINE_list("kinds", list(models.KINDS), "Model kinds to compare.")
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


def _stats(values: list[float]) -> dict:
  return {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}


def _cell(stats: dict, digits: int) -> str:
  return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _column(row: dict, exclusive: bool) -> str:
  """Table 1 column of a switch: each direction of a binary label, or the target class."""
  return f"to {row['attribute']}" if exclusive else f"{row['attribute']} → {row['to']}"


def summarise(results: dict[str, list[dict]], exclusive: bool) -> dict:
  """Per kind, mean and standard deviation over seeds of each table's columns.

  Args:
    results: {kind: [write_tables' output of each seed]}.
  Returns:
    {"table1": {kind: {column: stats}}, "table2": ..., "styles": ...}, stats as `_stats`.
  """
  out = {"table1": {}, "table2": {}, "styles": {}}
  for kind, runs in results.items():
    columns: dict[str, list[list[float]]] = {}
    for run in runs:
      per_run: dict[str, list[float]] = {}
      for row in run["table1"]["rows"]:
        per_run.setdefault(_column(row, exclusive), []).append(row["accuracy"])
      per_run["mean"] = [run["table1"]["mean_accuracy"]]
      kept = [row["others_kept"] for row in run["table1"]["rows"] if "others_kept" in row]
      if kept:
        per_run["others kept (worst switch)"] = [min(kept)]
      for column, values in per_run.items():
        columns.setdefault(column, []).append(float(np.mean(values)))
    out["table1"][kind] = {c: _stats(v) for c, v in columns.items()}
    if all("table2" in run for run in runs):
      out["table2"][kind] = {k: _stats([run["table2"]["mean"][k] for run in runs])
                             for k in runs[0]["table2"]["mean"]}
    if all("styles" in run for run in runs):
      names = [k for k, v in runs[0]["styles"].items() if isinstance(v, dict) and "points" in v]
      out["styles"][kind] = {
          f"{name}: {measure}": _stats([float(run["styles"][name][measure]) for run in runs])
          for name in names for measure in ("styles_per_subject", "styles_by_point")}
  return {k: v for k, v in out.items() if v}


def _markdown(title: str, note: str, table: dict[str, dict], digits: int) -> str:
  columns = list(next(iter(table.values())))
  lines = [f"# {title}\n", note + "\n", "| model | " + " | ".join(columns) + " |",
           "|---" * (len(columns) + 1) + "|"]
  for kind, row in table.items():
    cells = " | ".join(_cell(row[c], digits) for c in columns)
    lines.append(f"| {models.KIND_NAMES[kind]} | {cells} |")
  return "\n".join(lines) + "\n"


def _evaluated(table1: str, step: int) -> bool:
  """Whether a rerun finds this run already evaluated at its last step."""
  if not os.path.exists(table1):
    return False
  with open(table1) as f:
    return json.load(f)["step"] == step


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  base, root = flags.FLAGS.config, flags.FLAGS.workdir
  unknown = sorted(set(flags.FLAGS.kinds) - set(models.KINDS))
  if unknown:
    raise app.UsageError(f"Unknown kinds {unknown}; valid: {', '.join(models.KINDS)}.")
  trainer.check_workdir(root)
  os.makedirs(root, exist_ok=True)
  dataset = data_lib.load_dataset(base.data)
  if len(dataset.splits["train"]["x"].shape) != 4:
    raise app.UsageError(f"{base.data.name} is not an image dataset: Tables 1 and 2 need images.")
  exclusive = dataset.traits.exclusive
  start, results, timings, first_models = time.perf_counter(), {}, [], {}
  for seed in map(int, flags.FLAGS.seeds):
    for kind in flags.FLAGS.kinds:
      config = copy.deepcopy(base)
      config.seed, config.model.kind = seed, kind
      workdir = os.path.join(root, kind, f"seed{seed}")
      os.makedirs(os.path.dirname(workdir), exist_ok=True)
      t0 = time.perf_counter()
      trainer.train_and_evaluate(config, workdir)
      t1 = time.perf_counter()
      table1 = os.path.join(workdir, "eval", "table1.json")
      if not _evaluated(table1, config.train.num_steps):
        evaluate.evaluate(config, workdir, classifier_dir=os.path.join(root, "classifier"))
      with open(table1) as f:
        run = {"table1": json.load(f)}
      for name in ("table2", "styles"):
        path = os.path.join(workdir, "eval", f"{name}.json")
        if os.path.exists(path):
          with open(path) as f:
            run[name] = json.load(f)
      results.setdefault(kind, []).append(run)
      timings.append({"kind": kind, "seed": seed, "train_seconds": round(t1 - t0, 1),
                      "eval_seconds": round(time.perf_counter() - t1, 1)})
      done, total = len(timings), len(flags.FLAGS.seeds) * len(flags.FLAGS.kinds)
      elapsed = time.perf_counter() - start
      logging.info("Run %d/%d, %s seed %d: train %.0f s, eval %.0f s; %.0f s so far, ETA %.0f s",
                   done, total, kind, seed, t1 - t0, time.perf_counter() - t1, elapsed,
                   elapsed / done * (total - done))
      if seed == int(flags.FLAGS.seeds[0]):
        first_models[kind] = trained_model.load(workdir)

  for attribute in dataset.label_names:
    figures.kinds_figure(first_models, dataset.splits["test"], attribute,
                            os.path.join(root, f"kinds_{attribute}.png"))
  summary = summarise(results, exclusive)
  budget = (f"{len(flags.FLAGS.seeds)} seeds ({', '.join(flags.FLAGS.seeds)}), "
            f"{base.train.num_steps} steps of batch {base.train.batch_size} each, on "
            f"{base.data.name}")
  notes = {
      "table1": ("Method 1: share of switched test images the classifier assigns the target "
                 "(mean ± sd over seeds)", 3),
      "table2": ("Method 2: MSE per pixel, images in [0, 1], averaged over switches (mean ± sd "
                 "over seeds)", 5),
      "styles": ("Distinct ground-truth styles reached by 25 points (CSVAE: its W grid; others: "
                 "p or t in [0, 3]), as the classifier's style heads see them", 2)}
  for name, table in summary.items():
    title, digits = notes[name]
    with open(os.path.join(root, f"{name}.md"), "w") as f:
      f.write(_markdown(title, budget + ".", table, digits))
      if name == "table1":
        f.write("\n" + paper_table1_markdown())
    with open(os.path.join(root, f"{name}.json"), "w") as f:
      json.dump({"budget": budget, "kinds": table}, f, indent=2)
  total = time.perf_counter() - start
  with open(os.path.join(root, "runs.json"), "w") as f:
    json.dump({"runs": timings, "total_seconds": round(total, 1)}, f, indent=2)
  for name in summary:
    with open(os.path.join(root, f"{name}.md")) as f:
      print(f.read())
  print(f"Total {total / 60:.1f} min; runs, tables and figures in {root}")


if __name__ == "__main__":
  app.run(main)
