"""Data-parallel scaling of the train step: examples/s and compile time against the device count.

  python bench/scaling.py              # CPU: 1, 2, 4, 8 fake devices (a correctness-and-overhead check)
  python bench/scaling.py --json       # one JSON object per line

On a CPU host it runs itself once per device count with
XLA_FLAGS=--xla_force_host_platform_device_count=N, timing CSVAE on the swiss roll and on a
CelebA-sized conv model. On a GPU or TPU host, unchanged, it uses every local device and prints
images/s and model FLOPs utilisation (XLA's FLOP count of the compiled step over the chips' peak
bf16 dense FLOP/s; --peak_tflops overrides the table) for the CelebA config at float32 and bfloat16.
Synthetic batches of the right shapes: this measures the step, not the input pipeline.
"""

import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax
import numpy as np

from configs import celeba_glasses_facial_hair
from configs import swiss_roll
from csvae_jax import parallel
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer

flags.DEFINE_multi_integer("devices", [1, 2, 4, 8], "Fake CPU device counts (CPU hosts only).")
flags.DEFINE_integer("child_devices", 0, "Internal: measure in this process with N devices.")
flags.DEFINE_integer("windows", 5, "Timed calls per case; the median is reported.")
flags.DEFINE_float("peak_tflops", 0.0, "Peak dense bf16 TFLOP/s per chip, for MFU; 0 = look up.")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS

# Dense bf16 peak per chip (vendor figures).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "TPU v4": 275.0,
               "TPU v5 lite": 197.0, "TPU v5p": 459.0, "TPU v6 lite": 918.0}
# (config module, example shape, labels, global batch, steps per dispatch) per case and platform.
CPU_CASES = {"swiss_roll": (swiss_roll, (3,), 1, 1024, 100),
             "celeba": (celeba_glasses_facial_hair, (64, 64, 3), 2, 64, 1)}
ACCELERATOR_CASES = {"celeba": (celeba_glasses_facial_hair, (64, 64, 3), 2, 256, 50)}


def _peak_flops() -> float | None:
  if FLAGS.peak_tflops:
    return FLAGS.peak_tflops * 1e12
  kind = jax.devices()[0].device_kind
  matches = [v for k, v in PEAK_TFLOPS.items() if k in kind]
  return matches[0] * 1e12 if matches else None


def measure(case, config_module, x_shape, num_labels, batch_size, steps_per_dispatch,
            compute_dtype="float32") -> dict:
  config = config_module.get_config()
  config.model.compute_dtype = compute_dtype
  spec = train_state_lib.model_spec(config, x_shape=x_shape, num_labels=num_labels)
  mesh = parallel.make_mesh()
  batch_size = batch_size // mesh.size * mesh.size
  state = jax.jit(lambda rng: train_state_lib.create_train_state(rng, config, spec),
                  out_shardings=parallel.replicated(mesh))(jax.random.key(0))
  rng = np.random.default_rng(0)
  shape = (steps_per_dispatch, batch_size, *x_shape)
  x = (rng.integers(0, 256, shape, np.uint8) if len(x_shape) == 3
       else rng.normal(size=shape).astype(np.float32))
  y = rng.integers(0, 2, (steps_per_dispatch, batch_size, num_labels)).astype(np.float32)
  chunk = parallel.shard_batch({"x": x, "y": y}, mesh, leading_dims=1)
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  loop_rng = jax.random.key(1)
  start = time.perf_counter()
  compiled = train_chunk.lower(state, chunk, loop_rng).compile()
  compile_s = time.perf_counter() - start
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  state, metrics = compiled(state, chunk, loop_rng)
  jax.block_until_ready(metrics)
  seconds = []
  for _ in range(FLAGS.windows):
    start = time.perf_counter()
    state, metrics = compiled(state, chunk, loop_rng)
    jax.block_until_ready(metrics)
    seconds.append(time.perf_counter() - start)
  median = statistics.median(seconds)
  result = {"case": case, "devices": mesh.size, "platform": jax.devices()[0].platform,
            "device_kind": jax.devices()[0].device_kind, "compute_dtype": compute_dtype,
            "batch_size": batch_size, "examples_per_sec": steps_per_dispatch * batch_size / median,
            "compile_s": compile_s}
  flops = (cost or {}).get("flops")
  peak = _peak_flops()
  if flops and peak and result["platform"] != "cpu":
    result["mfu"] = flops / median / (peak * mesh.size)
  return result


def _print(result):
  if FLAGS.json:
    print(json.dumps(result), flush=True)
    return
  mfu = f"{100 * result['mfu']:.1f}%" if "mfu" in result else "-"
  print(f"{result['case']:<11}{result['compute_dtype']:<10}{result['devices']:>8}"
        f"{result['batch_size']:>7}{result['examples_per_sec']:>16,.0f}{result['compile_s']:>11.2f}"
        f"{mfu:>8}", flush=True)


def main(argv):
  del argv
  if FLAGS.child_devices:
    for case, args in CPU_CASES.items():
      print(json.dumps(measure(case, *args)), flush=True)
    return
  if not FLAGS.json:
    print(f"{'case':<11}{'dtype':<10}{'devices':>8}{'batch':>7}{'examples/s':>16}"
          f"{'compile s':>11}{'MFU':>8}")
  if jax.devices()[0].platform != "cpu":
    for case, args in ACCELERATOR_CASES.items():
      for dtype in ("float32", "bfloat16"):
        _print(measure(case, *args, compute_dtype=dtype))
    return
  for n in FLAGS.devices:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
    out = subprocess.run([sys.executable, __file__, f"--child_devices={n}",
                          f"--windows={FLAGS.windows}"], env=env, capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
      if line.startswith("{"):
        _print(json.loads(line))


if __name__ == "__main__":
  app.run(main)
