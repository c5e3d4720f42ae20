"""One run of a comparison: train (or resume) a config in a workdir, then its tables on a split.

Shared by `scripts/compare.py` (kinds on seeds) and `scripts/screen.py` (settings per kind).
"""

import copy
import json
import os
import time
from typing import Any

from absl import logging
import ml_collections

from csvae_jax import evaluate
from csvae_jax import paths
from csvae_jax import trainer

TABLES = ("table1", "table2", "styles")


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
  for kind_dir in sorted(paths.resolve(root).iterdir()):
    if not kind_dir.is_dir():
      continue
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
