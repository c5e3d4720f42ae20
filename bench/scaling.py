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
import subprocess
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax

from bench import measure as measure_lib
from configs import celeba_glasses_facial_hair
from configs import swiss_roll

flags.DEFINE_multi_integer("devices", [1, 2, 4, 8], "Fake CPU device counts (CPU hosts only).")
flags.DEFINE_integer("child_devices", 0, "Internal: measure in this process with N devices.")
flags.DEFINE_integer("windows", 5, "Timed calls per case; the median is reported.")
flags.DEFINE_float("peak_tflops", 0.0, "Peak dense bf16 TFLOP/s per chip, for MFU; 0 = look up.")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS

# (config module, global batch, steps per dispatch) per case and platform.
CPU_CASES = {"swiss_roll": (swiss_roll, 1024, 100), "celeba": (celeba_glasses_facial_hair, 64, 1)}
ACCELERATOR_CASES = {"celeba": (celeba_glasses_facial_hair, 256, 50)}


def measure(case, config_module, batch_size, steps_per_dispatch, compute_dtype="float32") -> dict:
  """CSVAE's step on `case` (`measure.measure`), as one row of this table."""
  r = measure_lib.measure(config_module.get_config(), "csvae", batch_size, compute_dtype,
                          steps_per_dispatch, FLAGS.windows, peak_gflops=float("nan"))
  result = {"case": case, "devices": r["devices"], "platform": r["platform"],
            "device_kind": r["device_kind"], "compute_dtype": compute_dtype,
            "batch_size": r["batch_size"], "examples_per_sec": r["examples_per_sec"],
            "compile_s": r["compile_s"]}
  peak = measure_lib.vendor_peak_gflops(r["device_kind"], FLAGS.peak_tflops)
  if peak and result["platform"] != "cpu":
    result["mfu"] = r["gflops_per_sec"] / (peak * r["devices"])
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
