r"""CSVAE when most labels are missing: four ways to train on a share of labelled examples, side
by side at each label fraction (docs/experiments/2026-12-02-label-fractions/).

  python scripts/label_fractions.py --config configs/procedural.py --config.data.seed=1 \
      --workdir runs/label_fractions --runs 0.1=10,11,12 --runs 0.01=10 \
      --settings runs/screen/best_settings.json --reference runs/heldout

The methods, each on the same labelled examples (`config.data.label_seed` = the run's seed):
  labelled_only  CSVAE trained on the labelled examples alone (`data.unlabelled=drop`);
  pseudo_labels  the paper's TFD protocol: a classifier fitted on the labelled examples labels the
                 others, kept where it gives every label p >= 0.9 (`data.unlabelled=pseudo`);
  semi_csvae     the semi-supervised CSVAE: q(y|x) and the bound over the missing labels
                 (`model.infer_labels=True`, `data.unlabelled=missing`);
  semi_condvae   the semi-supervised CondVAE, Kingma et al. 2014's M2, likewise.
Each run is scored on validation (`*_validation.json`, for choices) and on test (the results).
--reference names a `scripts/compare.py` workdir of the same data, whose CSVAE and CondVAE runs
are the fraction 1.0 of the figure.

Writes into --workdir: F<fraction>/<method>/seed<S>/ (rerun to resume), classifier/,
summary_<fraction>.{md,json} (every finished run of F<fraction>/, whichever invocation trained it;
test split; mean ± sample sd over seeds, every seed's value, the semi-supervised CSVAE paired
against each other method), label_fractions.png (Method 1 and target-changed against the label
fraction, a line per method) and label_fractions.json. `--methods=` trains nothing and
summarises what is there.
"""

import json
import os
import re
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags
import numpy as np

from csvae_jax import console
from csvae_jax import experiment
from csvae_jax import paths
from csvae_jax import plots
from csvae_jax import summary

config_flags.DEFINE_config_file("config", None, "An image config, e.g. configs/procedural.py.")
flags.DEFINE_string("workdir", None, "Where the runs, the classifier and the tables go.")
flags.DEFINE_multi_string("runs", ["0.1=10,11,12", "0.01=10"],
                          "FRACTION=SEED,SEED,...: a label fraction and the seeds run at it.")
console.define_choice_list("methods", experiment.LABEL_FRACTION_METHODS,
                           "The methods run at every fraction.")
flags.DEFINE_string("settings", "", "Optional JSON file {kind: {\"group.field\": value}} "
                    "(scripts/screen.py's best_settings.json): each kind's own overrides.")
flags.DEFINE_string("reference", "", "Optional scripts/compare.py workdir of the same data: its "
                    "CSVAE and CondVAE runs are the figure's fraction 1.0.")
flags.mark_flags_as_required(["config", "workdir"])

METHODS = experiment.LABEL_FRACTION_METHODS
NAMES = {"labelled_only": "CSVAE, labelled only", "pseudo_labels": "CSVAE, pseudo-labels",
         "semi_csvae": "semi-supervised CSVAE", "semi_condvae": "semi-supervised CondVAE (M2)"}
# At fraction 1.0 (every label observed) the reference's CSVAE stands for the CSVAE methods.
REFERENCE_KINDS = {"labelled_only": "csvae", "pseudo_labels": "csvae", "semi_csvae": "csvae",
                   "semi_condvae": "condvae"}


def _parse_runs(specs: list[str]) -> dict[float, list[int]]:
  runs = {}
  for spec in specs:
    fraction, _, seeds = spec.partition("=")
    try:
      runs[float(fraction)] = [int(s) for s in seeds.split(",")]
    except ValueError:
      raise app.UsageError(f"--runs {spec!r}: write FRACTION=SEED,SEED (e.g. 0.1=10,11,12).")
  return runs


def _label_accuracy(workdir: str) -> float | None:
  path = paths.resolve(workdir) / "eval" / "metrics.json"
  return json.loads(path.read_text()).get("label_inference_accuracy") if path.exists() else None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  base, root = f.config, f.workdir
  settings = json.loads(paths.resolve(f.settings).read_text()) if f.settings else {}
  paths.check_workdir(root)
  for fraction, seeds in sorted(_parse_runs(f.runs).items(), reverse=True):
    for seed in seeds:
      for method in f.methods:
        config = experiment.label_fraction_config(base, method, fraction, seed, settings)
        workdir = os.path.join(root, f"F{fraction:g}", method, f"seed{seed}")
        classifier = os.path.join(root, "classifier")
        experiment.train_and_tables(config, workdir, classifier, "validation")
        experiment.train_and_tables(config, workdir, classifier, "test")
  # Every finished run in the workdir, so that methods and seeds run by several invocations are
  # summarised together.
  curves = {}  # method -> {fraction: {figure: stats}}
  folders = [p for p in paths.resolve(root).glob("F*") if re.fullmatch(r"F[0-9.e-]+", p.name)]
  for folder in sorted(folders, key=lambda p: -float(p.name[1:])):
    fraction = float(folder.name[1:])
    results = experiment.collect(str(folder), "test", base.train.num_steps)
    results = {method: results[method] for method in METHODS if method in results}
    if not results:
      continue
    out = summary.summarise(results, reference="semi_csvae")
    for method, runs in results.items():
      values = [_label_accuracy(str(folder / method / f"seed{seed}")) for seed in runs]
      if all(v is not None for v in values):
        out["kinds"][method]["q(y|x) accuracy"] = summary.stats(values)
    out["figures"]["q(y|x) accuracy"] = {"higher_is_better": True, "digits": 3}
    seeds = sorted({seed for runs in results.values() for seed in runs})
    note = (f"Label fraction {fraction:g}: {base.data.name}, data seed {base.data.seed}, test "
            f"split; every finished run in {os.path.join(root, folder.name)} (seeds "
            f"{', '.join(map(str, seeds))}); "
            f"{base.train.num_steps} steps of batch {base.train.batch_size}; mean ± sample sd "
            "over seeds.")
    text = summary.markdown(out, NAMES, note, reference="semi_csvae")
    (paths.resolve(root) / f"summary_{fraction:g}.md").write_text(text)
    (paths.resolve(root) / f"summary_{fraction:g}.json").write_text(
        json.dumps({"note": note, **out}, indent=2))
    print(text)
    for method in results:
      curves.setdefault(method, {})[fraction] = out["kinds"][method]
  if f.reference:
    reference = experiment.collect(f.reference, "test", base.train.num_steps)
    for method in curves:
      runs = reference.get(REFERENCE_KINDS[method], {})
      if runs:
        curves[method][1.0] = summary.summarise({"reference": runs}, reference=None)[
            "kinds"]["reference"]
  curves = {m: dict(sorted(c.items())) for m, c in curves.items()}  # fractions ascending
  (paths.resolve(root) / "label_fractions.json").write_text(json.dumps(
      {m: {str(k): v for k, v in c.items()} for m, c in curves.items()}, indent=2))
  lines = {NAMES[m]: {fraction: (stats["Method 1"]["mean"], stats["target-changed"]["mean"])
                      for fraction, stats in c.items()} for m, c in curves.items()}
  plots.plot_method_curves(os.path.join(root, "label_fractions.png"), {
      name: (np.array(list(points)), np.array(list(points.values())))
      for name, points in lines.items()}, "share of labelled examples", log_x=True)


if __name__ == "__main__":
  app.run(main)
