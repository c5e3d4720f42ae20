"""One command for whatever machine it finds (CPU, GPU or TPU): images/s and MFU of the CelebA
config in float32 and bfloat16 at two batch sizes, and the swiss roll's examples/s.

  python bench/device.py            # a table, in under 5 minutes
  python bench/device.py --json     # one JSON object per line

MFU is XLA's FLOP count of one compiled step times the measured steps/s, over the device's peak:
on a GPU or TPU the vendor's dense bfloat16 peak per chip (bench/measure.py's PEAK_TFLOPS, or
--peak_tflops), on a CPU the dense float32 matmul peak measured here. `peak_fraction` is always
against the matmul peak measured here in the case's dtype. Batches are synthetic (the step, not
the input pipeline).
"""

import os
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

flags.DEFINE_float("peak_tflops", 0.0, "Peak dense TFLOP/s per chip for MFU; 0: PEAK_TFLOPS "
                   "by device kind (the measured matmul peak on CPUs and unknown chips).")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS

# (batch sizes, steps per dispatch, timed windows) of the CelebA cases; the swiss roll's case.
CPU_PLAN = {"celeba": ((32, 64), 1, 3), "swiss_roll": (256, 500, 5)}
ACCELERATOR_PLAN = {"celeba": ((256, 1024), 50, 5), "swiss_roll": (1024, 500, 5)}


def main(argv):
  del argv
  device = jax.devices()[0]
  on_cpu = device.platform == "cpu"
  plan = CPU_PLAN if on_cpu else ACCELERATOR_PLAN
  peaks = {dtype: measure_lib.matmul_peak_gflops(dtype) for dtype in ("float32", "bfloat16")}
  vendor = None if on_cpu else measure_lib.vendor_peak_gflops(device.device_kind,
                                                               FLAGS.peak_tflops)
  if not FLAGS.json:
    against = f"{vendor:,.0f} GFLOP/s (vendor, bf16)" if vendor else "the measured float32 peak"
    print(f"{jax.device_count()} x {device.device_kind} ({device.platform}); dense matmul peak "
          f"measured here: float32 {peaks['float32']:,.0f}, bfloat16 {peaks['bfloat16']:,.0f} "
          f"GFLOP/s; MFU against {against}")
    print(measure_lib.HEADER + f"{'MFU':>8}")
  batches, steps, windows = plan["celeba"]
  cases = [(celeba_glasses_facial_hair.get_config(), dtype, batch, steps, windows)
           for dtype in ("float32", "bfloat16") for batch in batches]
  batch, steps, windows = plan["swiss_roll"]
  cases.append((swiss_roll.get_config(), "float32", batch, steps, windows))
  for config, dtype, batch, steps, windows in cases:
    result = measure_lib.measure(config, "csvae", batch, dtype, steps, windows, peaks[dtype])
    result["mfu"] = result["gflops_per_sec"] / ((vendor or peaks["float32"]) * jax.device_count())
    if FLAGS.json:
      measure_lib.print_row(result, as_json=True)
    else:
      measure_lib.print_row(result, as_json=False, end="")
      print(f"{100 * result['mfu']:>7.1f}%", flush=True)


if __name__ == "__main__":
  app.run(main)
