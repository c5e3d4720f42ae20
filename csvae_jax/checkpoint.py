"""Orbax checkpoints under `workdir/checkpoints`: the train state, the config, the model spec and
the default switch points of the edits (`manipulate.compute_switch_points`), so that a copied
workdir is a self-contained model.

A restart restores the latest complete step (a save killed midway leaves a temporary folder that
orbax ignores). A checkpoint written with a different model or data config is refused, naming the
differing fields, rather than silently mixed with the new run.
"""

import dataclasses
import json
from typing import Any, Optional

import ml_collections
import orbax.checkpoint as ocp

from csvae_jax import models
from csvae_jax import paths

# Config groups that must match for a checkpoint to be resumed; the others (steps, rates, logging)
# may change between runs.
COMPATIBLE_GROUPS = ("model", "data")


def make_manager(workdir: str, max_to_keep: Optional[int] = None,
                 read_only: bool = False) -> ocp.CheckpointManager:
  """The workdir's checkpoint manager (async saves; `wait_until_finished` before exiting)."""
  directory = paths.resolve(workdir) / "checkpoints"
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=not read_only,
                                         read_only=read_only)
  return ocp.CheckpointManager(directory, options=options)


def save(manager: ocp.CheckpointManager, step: int, state: Any,
         config: ml_collections.ConfigDict, spec: models.ModelSpec,
         switch_points: dict) -> None:
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      config=ocp.args.JsonSave(json.loads(config.to_json())),
      spec=ocp.args.JsonSave(dataclasses.asdict(spec)),
      switch_points=ocp.args.JsonSave(switch_points)))


def restore_metadata(manager: ocp.CheckpointManager, step: int) -> tuple[dict, models.ModelSpec]:
  """(config as a dict, model spec) saved with `step`."""
  meta = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore(),
                                                       spec=ocp.args.JsonRestore()))
  return meta["config"], models.ModelSpec(**meta["spec"])


def restore_switch_points(manager: ocp.CheckpointManager, step: int) -> Optional[dict]:
  """The switch points saved with `step`; None for a checkpoint written before they were kept."""
  if not (manager.directory / str(step) / "switch_points").exists():
    return None
  return manager.restore(step, args=ocp.args.Composite(
      switch_points=ocp.args.JsonRestore()))["switch_points"]


def restore_state(manager: ocp.CheckpointManager, step: int, abstract_state: Any) -> Any:
  """The state saved at `step`, laid out (shapes, dtypes, shardings) like `abstract_state`."""
  return manager.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract_state)))["state"]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
  """A nested config dict as {"group.field": value}, lists as tuples."""
  if isinstance(tree, dict):
    return {k: v for key, sub in tree.items() for k, v in flatten(sub, f"{prefix}{key}.").items()}
  return {prefix[:-1]: tuple(tree) if isinstance(tree, list) else tree}


def check_compatible(saved_config: dict, config: ml_collections.ConfigDict, step: int,
                     directory: str, fix: str = "Use the config it was trained with, or a new "
                     "--workdir to start a fresh run.") -> None:
  """Raises ValueError naming every `model.*` / `data.*` field that differs from the checkpoint,
  then `fix`."""
  saved = flatten({g: saved_config.get(g, {}) for g in COMPATIBLE_GROUPS})
  current = flatten({g: json.loads(config[g].to_json()) for g in COMPATIBLE_GROUPS})
  diffs = [f"{key}: checkpoint {saved.get(key, '<absent>')!r}, config {current.get(key, '<absent>')!r}"
           for key in sorted(set(saved) | set(current)) if saved.get(key) != current.get(key)]
  if diffs:
    raise ValueError(
        f"The checkpoint at step {step} in {directory} was written with a different config:\n  "
        + "\n  ".join(diffs)
        + "\n" + fix)
