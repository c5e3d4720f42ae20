"""Orbax checkpoints under `workdir/checkpoints`: the train state, the config, the model spec and
the default switch points of the edits (`switch_points.SwitchPoints`), so that a copied
workdir is a self-contained model.

A restart restores the latest complete step (a save killed midway leaves a temporary folder that
orbax ignores). A checkpoint written with a different model or data config is refused, naming the
differing fields, rather than silently mixed with the new run; where the data are stored
(`data_lib.LOCATION_FIELDS`) is no part of that, so a run resumes after its data moved.

Each checkpoint also keeps where its workdir and data were (`locations`): a workdir copied or moved
elsewhere with its data inside finds them there (`relocate`).
"""

import dataclasses
import json
from typing import Any, Optional

import jax
import ml_collections
import orbax.checkpoint as ocp

from csvae_jax import data as data_lib
from csvae_jax import models
from csvae_jax import paths
from csvae_jax import switch_points as switch_points_lib

# Config groups that must match for a checkpoint to be resumed; the others (steps, rates, logging)
# may change between runs, and so may the data's locations.
COMPATIBLE_GROUPS = ("model", "data")
_LOCATIONS = tuple(f"data.{field}" for field in data_lib.LOCATION_FIELDS)


def make_manager(workdir: str, max_to_keep: Optional[int] = None,
                 read_only: bool = False) -> ocp.CheckpointManager:
  """The workdir's checkpoint manager (async saves; `wait_until_finished` before exiting).

  A read-only manager belongs to this process alone: loading a model never waits for the other
  processes of a multi-host run (a writing one saves with all of them).
  """
  directory = paths.resolve(workdir) / "checkpoints"
  if not read_only:
    return ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True))
  this_process = ocp.options.MultiprocessingOptions(primary_host=jax.process_index(),
                                                    active_processes={jax.process_index()})
  return ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=False, read_only=True, save_interval_steps=0,
      multiprocessing_options=this_process))


def _locations(manager: ocp.CheckpointManager, config: ml_collections.ConfigDict) -> dict:
  """{"workdir": the workdir, "data.<field>": each data location} as absolute paths or URIs."""
  data = {key: str(paths.resolve(config.data[key.split(".", 1)[1]])) for key in _LOCATIONS
          if config.data[key.split(".", 1)[1]]}
  return {"workdir": str(manager.directory.parent), **data}


def save(manager: ocp.CheckpointManager, step: int, state: Any,
         config: ml_collections.ConfigDict, spec: models.ModelSpec,
         switch_points: switch_points_lib.SwitchPoints) -> None:
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      config=ocp.args.JsonSave(json.loads(config.to_json())),
      spec=ocp.args.JsonSave(dataclasses.asdict(spec)),
      switch_points=ocp.args.JsonSave(switch_points.to_json()),
      locations=ocp.args.JsonSave(_locations(manager, config))))


def restore_metadata(manager: ocp.CheckpointManager, step: int) -> tuple[dict, models.ModelSpec]:
  """(config as a dict, model spec) saved with `step`."""
  meta = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore(),
                                                       spec=ocp.args.JsonRestore()))
  return meta["config"], models.ModelSpec(**meta["spec"])


def restore_switch_points(manager: ocp.CheckpointManager,
                          step: int) -> Optional[switch_points_lib.SwitchPoints]:
  """The switch points saved with `step`; None for a checkpoint written before they were kept
  (`scripts/add_switch_points.py` adds them)."""
  if not (manager.directory / str(step) / "switch_points").exists():
    return None
  return switch_points_lib.SwitchPoints.from_json(manager.restore(step, args=ocp.args.Composite(
      switch_points=ocp.args.JsonRestore()))["switch_points"])


def restore_locations(manager: ocp.CheckpointManager, step: int) -> Optional[dict]:
  """Where the workdir and data were when `step` was saved (`_locations`); None for a checkpoint
  written before they were kept."""
  if not (manager.directory / str(step) / "locations").exists():
    return None
  return manager.restore(step, args=ocp.args.Composite(
      locations=ocp.args.JsonRestore()))["locations"]


def relocate(config: ml_collections.ConfigDict, locations: Optional[dict],
             workdir: str) -> ml_collections.ConfigDict:
  """`config` with each data location that lay inside the workdir it was saved from (`locations`)
  pointed at the same place inside `workdir`, where that exists: a workdir copied or moved with
  its data still finds them. Other locations are left as they are."""
  if not locations:
    return config
  old, new = locations["workdir"], str(paths.resolve(workdir))
  config = ml_collections.ConfigDict(config.to_dict())
  for key in _LOCATIONS:
    where = locations.get(key, "")
    if old != new and where.startswith(old + "/"):
      moved = new + where[len(old):]
      if paths.resolve(moved).exists():
        config.data[key.split(".", 1)[1]] = moved
  return config


def add_switch_points(workdir: str, step: int,
                      points: switch_points_lib.SwitchPoints) -> None:
  """Writes `points` into the checkpoint of `step` in `workdir`, one written before checkpoints
  kept them all (`scripts/add_switch_points.py`); the model's weights are not touched."""
  item = paths.resolve(workdir) / "checkpoints" / str(step) / "switch_points"
  with ocp.Checkpointer(ocp.JsonCheckpointHandler()) as checkpointer:
    checkpointer.save(item, args=ocp.args.JsonSave(points.to_json()), force=True)


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
  """Raises ValueError naming every `model.*` / `data.*` field of the checkpoint that differs in
  `config` (the data's locations may), then `fix`."""
  def fields(groups: dict) -> dict[str, Any]:
    return {k: v for k, v in flatten(groups).items() if k not in _LOCATIONS}
  saved = fields({g: saved_config.get(g, {}) for g in COMPATIBLE_GROUPS})
  current = fields({g: json.loads(config[g].to_json()) for g in COMPATIBLE_GROUPS})
  # A field the checkpoint lacks is newer than it; new fields default to the behaviour before them.
  diffs = [f"{key}: checkpoint {saved[key]!r}, config {current.get(key, '<absent>')!r}"
           for key in sorted(saved) if saved[key] != current.get(key)]
  if diffs:
    raise ValueError(
        f"The checkpoint at step {step} in {directory} was written with a different config:\n  "
        + "\n  ".join(diffs)
        + "\n" + fix)
