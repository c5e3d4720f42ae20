"""Data parallelism: a 1-D ("data",) device mesh, the batch sharded on axis 0, the state replicated;
the processes of a multi-host run joined from the command line."""

from absl import flags
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import orbax.checkpoint as ocp

DATA_AXIS = "data"


def define_distributed_flags(module_name: str) -> None:
  """The command-line flags of a program that runs on every host of a multi-host slice, shown by
  the `--help` of `module_name` (the program's)."""
  flags.DEFINE_bool("distributed", False, "Multi-host: call jax.distributed.initialize, which "
                    "finds its peers by itself on Cloud TPU and SLURM; elsewhere give the three "
                    "flags below.", module_name=module_name)
  flags.DEFINE_string("coordinator_address", None,
                      "host:port of process 0 (implies --distributed).", module_name=module_name)
  flags.DEFINE_integer("num_processes", None, "Number of processes (hosts).",
                       module_name=module_name)
  flags.DEFINE_integer("process_id", None, "This process's index in [0, num_processes).",
                       module_name=module_name)


def initialize_from_flags() -> None:
  """Joins the other processes if the flags of `define_distributed_flags` ask for it."""
  values = flags.FLAGS
  if values.distributed or values.coordinator_address:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # Used only on CPU hosts.
    jax.distributed.initialize(coordinator_address=values.coordinator_address,
                               num_processes=values.num_processes, process_id=values.process_id)


def wait_for_all_processes(name: str, timeout_s: int) -> None:
  """A barrier of every process through JAX's coordination service rather than the devices, so
  that processes may wait up to `timeout_s` for one that works alone; `name` is unique."""
  ocp.multihost.get_barrier_sync_fn()(key=name, timeout_ms=timeout_s * 1000)


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


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """Raises ValueError unless the device count divides the global batch."""
  if batch_size % mesh.size:
    raise ValueError(
        f"config.train.batch_size={batch_size} is not divisible by the {mesh.size} devices; "
        f"use a multiple of {mesh.size}.")
