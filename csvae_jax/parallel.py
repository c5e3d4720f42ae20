"""Data parallelism: a 1-D ("data",) device mesh, the batch sharded on axis 0, the state replicated."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def make_mesh() -> Mesh:
  """A mesh of every device of every process along one "data" axis (Auto axis types)."""
  return Mesh(np.array(jax.devices()), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, leading_dims: int = 0) -> NamedSharding:
  """Shards the batch axis, found after `leading_dims` axes (e.g. 1 for [steps, B, ...])."""
  return NamedSharding(mesh, PartitionSpec(*([None] * leading_dims), DATA_AXIS))


def shard_batch(local: dict[str, np.ndarray], mesh: Mesh, leading_dims: int = 0) -> dict:
  """This process's slice of a global batch (numpy) -> global arrays sharded on the batch axis.

  Args:
    local: arrays whose axis `leading_dims` is this process's B / P examples.
    mesh: the device mesh.
    leading_dims: axes before the batch axis (1 for chunks [C, B, ...]).
  """
  sharding = batch_sharding(mesh, leading_dims)
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}


def fetch(tree):
  """Replicated arrays to numpy via this process's copy (device_get would need every process's)."""
  return jax.tree.map(lambda a: np.asarray(a.addressable_data(0)), tree)


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """Raises ValueError unless the device count divides the global batch."""
  if batch_size % mesh.size:
    raise ValueError(
        f"config.train.batch_size={batch_size} is not divisible by the {mesh.size} devices; "
        f"use a multiple of {mesh.size}.")
