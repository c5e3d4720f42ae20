"""Throughput of the compiled train step: examples/s for each model kind and batch size.

  python bench/train_step.py                         # table: 4 kinds x batch 64, 256, 1024
  python bench/train_step.py --json --model csvae --batch_size 256

Each case compiles `steps_per_dispatch` steps into one call (lax.scan, as the trainer does), reports
the compile time apart, then times `windows` calls and reports the median examples/s. Swiss roll
data and the default network sizes (configs/swiss_roll.py).
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax

from configs import swiss_roll
from csvae_jax import data as data_lib
from csvae_jax import models
from csvae_jax import parallel
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer
from csvae_jax.data import pipeline

flags.DEFINE_multi_enum("model", list(models.KINDS), models.KINDS, "Model kinds to time.")
flags.DEFINE_multi_integer("batch_size", [64, 256, 1024], "Global batch sizes to time.")
flags.DEFINE_integer("steps_per_dispatch", 500, "Train steps per compiled call.")
flags.DEFINE_integer("windows", 7, "Timed calls per case; the median is reported.")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS


def bench_case(kind: str, batch_size: int, steps_per_dispatch: int, windows: int) -> dict:
  config = swiss_roll.get_config()
  config.model.kind = kind
  config.train.batch_size = batch_size
  train = data_lib.load_dataset(config.data).splits["train"]
  spec = train_state_lib.model_spec(config, x_shape=(3,), num_labels=1, x_mean=train["x"].mean(0),
                                    x_std=train["x"].std(0))
  mesh = parallel.make_mesh()
  state = train_state_lib.create_train_state(jax.random.key(0), config, spec)
  state = jax.device_put(state, parallel.replicated(mesh))
  # One chunk of real batches stays on the device: this times the step, not the input pipeline.
  chunk = next(pipeline.make_chunks(train, seed=0, batch_size=batch_size, first_step=0,
                                    num_steps=steps_per_dispatch,
                                    steps_per_chunk=steps_per_dispatch))
  chunk = parallel.shard_batch(chunk, mesh, leading_dims=1)
  loop_rng = jax.random.key(1)
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  start = time.perf_counter()
  compiled = train_chunk.lower(state, chunk, loop_rng).compile()
  compile_s = time.perf_counter() - start
  state, metrics = compiled(state, chunk, loop_rng)  # Warm-up call.
  jax.block_until_ready(metrics)
  rates = []
  for _ in range(windows):
    start = time.perf_counter()
    state, metrics = compiled(state, chunk, loop_rng)
    jax.block_until_ready(metrics)
    rates.append(steps_per_dispatch * batch_size / (time.perf_counter() - start))
  return {"model": kind, "batch_size": batch_size, "examples_per_sec": statistics.median(rates),
          "min_examples_per_sec": min(rates), "max_examples_per_sec": max(rates),
          "compile_s": compile_s, "steps_per_dispatch": steps_per_dispatch,
          "devices": mesh.size, "platform": jax.devices()[0].platform}


def main(argv):
  del argv
  if not FLAGS.json:
    print(f"{'model':<14}{'batch':>7}{'examples/s (median)':>22}{'min':>11}{'max':>11}"
          f"{'compile s':>11}")
  for kind in FLAGS.model:
    for batch_size in FLAGS.batch_size:
      r = bench_case(kind, batch_size, FLAGS.steps_per_dispatch, FLAGS.windows)
      if FLAGS.json:
        print(json.dumps(r), flush=True)
      else:
        print(f"{kind:<14}{batch_size:>7}{r['examples_per_sec']:>22,.0f}"
              f"{r['min_examples_per_sec']:>11,.0f}{r['max_examples_per_sec']:>11,.0f}"
              f"{r['compile_s']:>11.2f}", flush=True)


if __name__ == "__main__":
  app.run(main)
