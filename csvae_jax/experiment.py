"""One run of a comparison: train (or resume) a config in a workdir, then its tables on a split.

Shared by `scripts/compare.py` (kinds on seeds), `scripts/screen.py` (settings per kind,
`screen_settings`) and `scripts/label_fractions.py` (ways to train on a share of labelled
examples, `label_fraction_config`).
"""

import copy
import json
import os
import time
from typing import Any

from absl import logging
import ml_collections

from csvae_jax import evaluate
from csvae_jax import models
from csvae_jax import paths
from csvae_jax import trainer

TABLES = ("table1", "table2", "styles")
SCREEN_SETTINGS = ("default", "lr_x2", "z_x2", "beta_h_div3")


def screen_settings(config: ml_collections.ConfigDict, kind: str) -> dict[str, dict[str, Any]]:
  """The screen's settings that apply to `kind`, {name: overrides of `config`}: the config's
  defaults, the encoder/decoder learning rate doubled, z of twice the size and, for the kinds
  with an adversary, its weight beta_h divided by 3."""
  out = {"default": {},
         "lr_x2": {"optim.vae.learning_rate": 2 * config.optim.vae.learning_rate},
         "z_x2": {"model.z_dim": 2 * config.model.z_dim}}
  if models.ModelSpec(kind=kind, x_shape=(1,), num_labels=1).has_adversary:
    out["beta_h_div3"] = {"loss.beta_h": config.loss.beta_h / 3}
  return out

# The settings of the semi-supervised objective (model.adversary_labels, model.missing_labels,
# loss.unlabelled_ramp_steps, loss.label_confidence, train.labelled_per_batch) apply to the
# semi-supervised methods; the others, whose every training example is labelled, run without them.
_SUPERVISED = {"model.adversary_labels": "observed", "model.missing_labels": "expectation",
               "loss.unlabelled_ramp_steps": 0, "loss.label_confidence": 0.0,
               "train.labelled_per_batch": 0}
# The label-fraction methods: name -> (model kind, overrides).
LABEL_FRACTION_METHODS = {
    "labelled_only": ("csvae", {"data.unlabelled": "drop", **_SUPERVISED}),
    "pseudo_labels": ("csvae", {"data.unlabelled": "pseudo", **_SUPERVISED}),
    "semi_csvae": ("csvae", {"data.unlabelled": "missing", "model.infer_labels": True}),
    "semi_condvae": ("condvae", {"data.unlabelled": "missing", "model.infer_labels": True}),
}


def label_fraction_config(base: ml_collections.ConfigDict, method: str, fraction: float,
                          seed: int, settings: dict[str, dict[str, Any]]
                          ) -> ml_collections.ConfigDict:
  """The config of one label-fraction run: `base` with the kind's own `settings` ({kind:
  {"group.field": value}}, scripts/screen.py's best_settings.json), the model seed and the
  labelled examples' seed `seed`, and the method's overrides (LABEL_FRACTION_METHODS)."""
  kind, overrides = LABEL_FRACTION_METHODS[method]
  return with_overrides(base, {
      **settings.get(kind, {}), "seed": seed, "model.kind": kind,
      "data.label_fraction": fraction, "data.label_seed": seed, **overrides})


def with_overrides(config: ml_collections.ConfigDict,
                   overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """A copy of `config` with {"group.field": value} overrides (as --config.group.field=value).

  Raises:
    KeyError: for a field the config does not have.
  """
  config = copy.deepcopy(config)
  flat = config.to_dict()
  for key in overrides:
    node = flat
    for part in key.split("."):
      if not isinstance(node, dict) or part not in node:
        raise KeyError(f"Unknown config field {key!r} in the overrides.")
      node = node[part]
  config.update_from_flattened_dict(dict(overrides))
  return config


def _read_tables(workdir: str, split: str, step: int) -> dict[str, Any] | None:
  """The tables of `split` in workdir/eval, if they are there for `step`."""
  folder = paths.resolve(workdir) / "eval"
  suffix = evaluate.file_suffix(split)
  run = {}
  for name in TABLES:
    path = folder / f"{name}{suffix}.json"
    if path.exists():
      run[name] = json.loads(path.read_text())
  if "table1" not in run or run["table1"]["step"] != step:
    return None
  return run


def collect(root: str, split: str, num_steps: int) -> dict[str, dict[int, dict[str, Any]]]:
  """Every run of a comparison's layout (ROOT/KIND/seedS) whose tables of `split` are there for
  step `num_steps`: {kind: {seed: run}}."""
  results = {}
  for kind_dir in sorted(paths.resolve(root).iterdir()):  # a file there globs nothing
    for run_dir in sorted(kind_dir.glob("seed*")):
      run = _read_tables(str(run_dir), split, num_steps)
      if run is not None:
        results.setdefault(kind_dir.name, {})[int(run_dir.name[len("seed"):])] = run
  return results


def train_and_tables(config: ml_collections.ConfigDict, workdir: str, classifier_dir: str,
                     split: str) -> tuple[dict[str, Any], dict[str, float]]:
  """Trains `config` in `workdir` (resuming), then evaluates it on `split`; a run whose tables
  of `split` are there for the last step is neither trained nor evaluated again (its checkpoints
  need not be there: runs copied from another machine are summarised from their tables).

  Returns:
    ({"table1", "table2", "styles"} as `evaluate.write_tables` wrote them,
     {"train_seconds", "eval_seconds"} of this call).
  """
  run = _read_tables(workdir, split, config.train.num_steps)
  if run is not None:
    return run, {"train_seconds": 0.0, "eval_seconds": 0.0}
  os.makedirs(os.path.dirname(os.path.abspath(workdir)), exist_ok=True)
  start = time.perf_counter()
  trainer.train_and_evaluate(config, workdir)
  trained = time.perf_counter()
  evaluate.evaluate(config, workdir, classifier_dir=classifier_dir, split=split)
  run = _read_tables(workdir, split, config.train.num_steps)
  timing = {"train_seconds": round(trained - start, 1),
            "eval_seconds": round(time.perf_counter() - trained, 1)}
  logging.info("%s: train %.0f s, eval %.0f s", workdir, timing["train_seconds"],
               timing["eval_seconds"])
  return run, timing
