"""The measurement behind bench/train_step.py and bench/device.py: one config, kind, batch and
dtype, timed on synthetic batches of the config's shapes; XLA's FLOP count; the matmul peak."""

import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from csvae_jax import parallel
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer
from csvae_jax.data import celeba_crop

# Dense bfloat16 peak per chip, vendor figures.
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "B200": 2250.0, "A100": 312.0, "L4": 121.0,
               "TPU v4": 275.0, "TPU v5 lite": 197.0, "TPU v5p": 459.0, "TPU v6 lite": 918.0}


def vendor_peak_gflops(device_kind: str, override_tflops: float = 0.0) -> float | None:
  """The chip's dense bf16 peak in GFLOP/s: `override_tflops` if given, else PEAK_TFLOPS's entry
  whose name `device_kind` contains; None for chips the table lacks."""
  if override_tflops:
    return override_tflops * 1e3
  matches = [v for k, v in PEAK_TFLOPS.items() if k in device_kind]
  return matches[0] * 1e3 if matches else None


CELEBA_LABELS = {"glasses": 1, "facial_hair": 1, "glasses_facial_hair": 2}


def data_shape(config) -> tuple[tuple[int, ...], int]:
  """(x_shape, k) of the config's dataset as the models see it, without loading it."""
  d = config.data
  if d.name == "celeba":  # always the 64x64 crop, whatever data.image_size says
    side = celeba_crop.IMAGE_SIZE
    return (side, side, 3), CELEBA_LABELS[d.subset]
  if d.name == "tfd":
    side = int(d.resolution.split("x")[0])
    return (side, side, 1), 7
  if d.name == "procedural":
    return (d.image_size, d.image_size, 3), 3
  if d.name == "swiss_roll":
    return (3,), 1
  raise ValueError(f"No benchmark shape for config.data.name={d.name!r}.")


def matmul_peak_gflops(dtype: str, sizes=(1024, 2048, 4096), repeats: int = 5) -> float:
  """This device's dense matmul rate in `dtype`, GFLOP/s: the best of square matmuls of `sizes`
  (2 n^3 flops each), each the fastest of `repeats` calls after a warm-up."""
  best = 0.0
  for n in sizes:
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.dtype(dtype))
    matmul = jax.jit(lambda a: a @ a)
    jax.block_until_ready(matmul(a))
    seconds = []
    for _ in range(repeats):
      start = time.perf_counter()
      jax.block_until_ready(matmul(a))
      seconds.append(time.perf_counter() - start)
    best = max(best, 2 * n**3 / min(seconds) / 1e9)
  return best


def step_flops(train_chunk, state, one_step, loop_rng) -> float:
  """XLA's FLOP count of one unpartitioned step, compiled for the host CPU whatever the backend.

  XLA counts a loop's body once, hence a one-step call (`one_step`: a chunk of C = 1). A GPU
  compile hands convolutions to cuDNN calls that its cost analysis does not count (the H200 gave
  3.6 MFLOP per CelebA image against 606 on the CPU), so the count is always the CPU's.
  """
  args = jax.device_put((state, one_step, loop_rng), jax.devices("cpu")[0])
  cost = train_chunk.lower(*args).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  return float((cost or {}).get("flops", 0.0))


def measure(config, kind: str, batch_size: int, compute_dtype: str, steps_per_dispatch: int,
            windows: int, peak_gflops: float) -> dict:
  """Times `trainer.make_train_chunk`'s compiled call on synthetic batches; returns one result row.

  Args:
    config: a config (copied, not changed). kind: a model kind. batch_size: global batch.
    compute_dtype: the layers' dtype. steps_per_dispatch: steps per call. windows: timed calls.
    peak_gflops: `matmul_peak_gflops` of compute_dtype, for `peak_fraction`.
  """
  config = config.copy_and_resolve_references()
  config.model.kind, config.model.compute_dtype = kind, compute_dtype
  x_shape, num_labels = data_shape(config)
  mesh = parallel.make_mesh()
  batch_size = batch_size // mesh.size * mesh.size
  rng = np.random.default_rng(0)
  shape = (steps_per_dispatch, batch_size, *x_shape)
  if len(x_shape) == 3:
    x = rng.integers(0, 256, shape, np.uint8)
    stats = {}
  else:
    x = rng.normal(size=shape).astype(np.float32)
    stats = {"x_mean": x.mean((0, 1)), "x_std": x.std((0, 1))}
  y = rng.integers(0, 2, (steps_per_dispatch, batch_size, num_labels)).astype(np.float32)
  spec = train_state_lib.model_spec(config, x_shape=x_shape, num_labels=num_labels, **stats)
  state = train_state_lib.init_train_state(jax.random.key(0), config, spec,
                                          parallel.replicated(mesh))
  chunk = parallel.shard_batch({"x": x, "y": y}, mesh, leading_dims=1)
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  loop_rng = jax.random.key(1)
  start = time.perf_counter()
  compiled = train_chunk.lower(state, chunk, loop_rng).compile()
  compile_s = time.perf_counter() - start
  flops_per_example = step_flops(train_chunk, state, {"x": x[:1], "y": y[:1]},
                                 loop_rng) / batch_size
  state, metrics = compiled(state, chunk, loop_rng)  # Warm-up call.
  jax.block_until_ready(metrics)
  rates = []
  for _ in range(windows):
    start = time.perf_counter()
    state, metrics = compiled(state, chunk, loop_rng)
    jax.block_until_ready(metrics)
    rates.append(steps_per_dispatch * batch_size / (time.perf_counter() - start))
  rate = statistics.median(rates)
  gflops_per_sec = flops_per_example * rate / 1e9
  return {"config": config.data.name + (f"/{config.data.subset}" if config.data.name == "celeba"
                                        else ""),
          "model": kind, "dtype": compute_dtype, "batch_size": batch_size,
          "examples_per_sec": rate, "min_examples_per_sec": min(rates),
          "max_examples_per_sec": max(rates), "flops_per_example": flops_per_example,
          "gflops_per_sec": gflops_per_sec, "peak_gflops": peak_gflops,
          "peak_fraction": gflops_per_sec / (peak_gflops * mesh.size), "compile_s": compile_s,
          "steps_per_dispatch": steps_per_dispatch, "devices": mesh.size,
          "platform": jax.devices()[0].platform, "device_kind": jax.devices()[0].device_kind}


def print_row(result: dict, as_json: bool, end: str = "\n") -> None:
  """One result as a JSON line (images add `images_per_sec`) or as a row of `HEADER`."""
  if as_json:
    if result["config"] != "swiss_roll":
      result = dict(result, images_per_sec=result["examples_per_sec"])
    print(json.dumps(result), flush=True)
    return
  print(f"{result['config']:<28}{result['model']:<14}{result['dtype']:<10}{result['batch_size']:>6}"
        f"{result['examples_per_sec']:>14,.0f}{result['min_examples_per_sec']:>12,.0f}"
        f"{result['max_examples_per_sec']:>12,.0f}{result['flops_per_example'] / 1e6:>11.2f}"
        f"{result['gflops_per_sec']:>9.1f}{100 * result['peak_fraction']:>7.1f}%"
        f"{result['compile_s']:>9.2f}", end=end, flush=True)


HEADER = (f"{'config':<28}{'model':<14}{'dtype':<10}{'batch':>6}{'examples/s':>14}{'min':>12}"
          f"{'max':>12}{'MFLOP/ex':>11}{'GFLOP/s':>9}{'peak':>8}{'compile':>9}")
