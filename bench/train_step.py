"""Throughput and efficiency of the compiled train step, for any config, kind, batch and dtype.

  python bench/train_step.py                          # swiss roll: 4 kinds x batch 64, 256, 1024
  python bench/train_step.py --json --model csvae --batch_size 256
  python bench/train_step.py --config configs/celeba_glasses.py --model csvae \
      --batch_size 64 --batch_size 256 --json

Each case compiles `steps_per_dispatch` steps into one call (lax.scan, as the trainer does; the
config's value unless --steps_per_dispatch is given), reports the compile time apart, then times
`windows` calls and reports the median examples/s. Batches are synthetic, of the config's shapes
(vectors: standard normal; images: uniform uint8), kept on the device: this times the step, not
the input pipeline, and needs no dataset.

Efficiency: `flops_per_example` is XLA's cost analysis of one step, compiled for the host CPU on
every backend (GPU compiles hide convolutions in cuDNN calls), over the batch size;
`gflops_per_sec` is that at the median rate; `peak_gflops` is this device's dense matmul peak in
the case's dtype, measured here (the best of a few square matmuls); `peak_fraction` their ratio.
"""

import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from ml_collections import config_flags

from bench import measure as measure_lib
from csvae_jax import models

config_flags.DEFINE_config_file("config", os.path.join(REPO, "configs", "swiss_roll.py"),
                                "The config whose model and data shapes are timed.",
                                lock_config=False)
flags.DEFINE_multi_enum("model", list(models.KINDS), models.KINDS, "Model kinds to time.")
flags.DEFINE_multi_integer("batch_size", [64, 256, 1024], "Global batch sizes to time.")
flags.DEFINE_multi_enum("dtype", ["float32"], models.COMPUTE_DTYPES, "Compute dtypes to time.")
flags.DEFINE_integer("steps_per_dispatch", 0, "Train steps per compiled call; 0: the config's.")
flags.DEFINE_integer("windows", 7, "Timed calls per case; the median is reported.")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = FLAGS.config
  steps_per_dispatch = FLAGS.steps_per_dispatch or config.train.steps_per_dispatch
  peaks = {dtype: measure_lib.matmul_peak_gflops(dtype) for dtype in FLAGS.dtype}
  if not FLAGS.json:
    print("Dense matmul peak measured here: " + ", ".join(
        f"{dtype} {peak:,.1f} GFLOP/s" for dtype, peak in peaks.items()))
    print(measure_lib.HEADER)
  for kind in FLAGS.model:
    for dtype in FLAGS.dtype:
      for batch_size in FLAGS.batch_size:
        result = measure_lib.measure(config, kind, batch_size, dtype, steps_per_dispatch,
                                     FLAGS.windows, peaks[dtype])
        measure_lib.print_row(result, FLAGS.json)


if __name__ == "__main__":
  app.run(main)
