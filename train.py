"""Trains a model of the paper on a dataset, resuming from --workdir if it holds a run.

  python train.py --config configs/swiss_roll.py --workdir /tmp/swiss_roll [--config.train.num_steps=5000]
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # Silences TensorFlow's import banner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import jax
from ml_collections import config_flags

from csvae_jax import console
from csvae_jax import trainer

config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/swiss_roll.py.",
                                 lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, TensorBoard summaries and checkpoints; "
                    "rerunning with the same one resumes.")
flags.DEFINE_bool("distributed", False, "Multi-host: call jax.distributed.initialize, which "
                  "finds its peers by itself on Cloud TPU and SLURM; elsewhere give the three "
                  "flags below.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (implies --distributed).")
flags.DEFINE_integer("num_processes", None, "Number of processes (hosts).")
flags.DEFINE_integer("process_id", None, "This process's index in [0, num_processes).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  if f.distributed or f.coordinator_address:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # Used only on CPU hosts.
    jax.distributed.initialize(coordinator_address=f.coordinator_address,
                               num_processes=f.num_processes, process_id=f.process_id)
  trainer.train_and_evaluate(f.config, f.workdir)


if __name__ == "__main__":
  app.run(main)
