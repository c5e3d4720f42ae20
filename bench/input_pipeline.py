"""Speed and memory of the CelebA input pipeline: (a) preparation images/s and peak resident
memory, (b) reading the prepared data: TFDS into memory, then the training batches' pipeline.

  python bench/input_pipeline.py                              # table: 5,000 and 20,000 images
  python bench/input_pipeline.py --json --num_images 20000 --workdir /tmp/celeba_bench

For each --num_images, writes (or reuses) a folder of that many fixture images in the official
CelebA formats (tests/celeba_fixtures.py) under --workdir, then prepares --subset from it into a
fresh data folder, in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own.
Preparation streams examples, so the peak must not grow with the number of images. Then (b)
loads the largest prepared subset with `celeba.load` and times the pipeline of train.py
(`pipeline.make_chunks`, batch --batch_size, one step per chunk as the image configs use).
"""

import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [_ROOT, os.path.join(_ROOT, "tests")]

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import tensorflow_datasets as tfds

import celeba_fixtures
from csvae_jax.data import celeba
from csvae_jax.data import pipeline

flags.DEFINE_multi_integer("num_images", [5000, 20000], "Sizes of the fixture folders to prepare.")
flags.DEFINE_enum("subset", "glasses_facial_hair", list(celeba.SUBSETS), "Subset to prepare.")
flags.DEFINE_string("workdir", None, "Keeps the fixture folders between runs; a temp dir if unset.")
flags.DEFINE_integer("batch_size", 64, "Global batch of the read measurement (the CelebA configs').")
flags.DEFINE_bool("json", False, "One JSON object per line instead of a table.")
FLAGS = flags.FLAGS

# Columns of each measurement's table: (result key, header, width, format after the width).
COLUMNS = {
    "prepare": (("num_images", "images", 9, ","), ("examples", "examples", 10, ","),
                ("examples_per_sec", "examples/s", 12, ",.0f"), ("seconds", "s", 8, ".1f"),
                ("rss_after_import_mib", "RSS after import MiB", 22, ".0f"),
                ("peak_rss_mib", "peak RSS MiB", 14, ".0f")),
    "read": (("num_images", "images", 9, ","), ("train_examples", "train examples", 16, ","),
             ("load_images_per_sec", "TFDS load images/s", 20, ",.0f"),
             ("pipeline_images_per_sec", "pipeline images/s", 19, ",.0f")),
}


def _prepare(manual_dir: str, data_dir: str, subset: str) -> dict:
  """Runs in the subprocess: prepares `subset` and measures time and this process's peak RSS."""
  # ru_maxrss is in KiB on Linux; here it is the footprint of Python, TensorFlow and TFDS.
  rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  start = time.perf_counter()
  builder = celeba.CelebaSubsets(config=subset, data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  seconds = time.perf_counter() - start
  examples = sum(split.num_examples for split in builder.info.splits.values())
  return {"examples": examples, "seconds": seconds, "examples_per_sec": examples / seconds,
          "rss_after_import_mib": rss_after_import,
          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def bench_prepare(num_images: int, subset: str, workdir: str) -> dict:
  """Prepares `subset` from a `num_images` fixture folder in a fresh subprocess.

  Args:
    num_images: size of the fixture folder, written under `workdir` unless already there.
    subset: a key of celeba.SUBSETS.
    workdir: holds the fixture folders and a data folder, removed afterwards.

  Returns:
    {"measurement": "prepare", "num_images", "subset", "examples" (prepared, all splits),
    "seconds", "examples_per_sec", "rss_after_import_mib", "peak_rss_mib"}.
  """
  manual_dir = os.path.join(workdir, f"celeba_{num_images}")
  if not os.path.exists(os.path.join(manual_dir, celeba.PARTITION_FILE)):
    celeba_fixtures.write_celeba(manual_dir, num_images)
  data_dir = tempfile.mkdtemp(dir=workdir)
  try:
    # Spawn, not fork: the child starts without the parent's memory, so its peak is its own.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
      result = pool.apply(_prepare, (manual_dir, data_dir, subset))
  finally:
    shutil.rmtree(data_dir)
  return {"measurement": "prepare", "num_images": num_images, "subset": subset, **result}


def bench_read(num_images: int, subset: str, workdir: str, batch_size: int) -> dict:
  """Prepares `subset` (untimed), then times reading it back and batching it for training.

  Returns:
    {"measurement": "read", "num_images", "subset", "train_examples", "load_images_per_sec"
    (celeba.load: TFDS records into numpy, all splits), "pipeline_images_per_sec"
    (pipeline.make_chunks over two epochs of the train split)}.
  """
  manual_dir = os.path.join(workdir, f"celeba_{num_images}")
  if not os.path.exists(os.path.join(manual_dir, celeba.PARTITION_FILE)):
    celeba_fixtures.write_celeba(manual_dir, num_images)
  data_dir = tempfile.mkdtemp(dir=workdir)
  try:
    celeba.load(manual_dir, data_dir, subset)
    start = time.perf_counter()
    splits, _ = celeba.load(manual_dir, data_dir, subset)
    load_seconds = time.perf_counter() - start
    train = splits["train"]
    num_steps = 2 * len(train["x"]) // batch_size
    start = time.perf_counter()
    for chunk in pipeline.make_chunks(train, seed=0, batch_size=batch_size, first_step=0,
                                      num_steps=num_steps, steps_per_chunk=1):
      chunk["x"].sum(dtype="uint64")  # Touch the bytes, as the transfer to the device would.
    pipeline_seconds = time.perf_counter() - start
  finally:
    shutil.rmtree(data_dir)
  loaded = sum(len(split["x"]) for split in splits.values())
  return {"measurement": "read", "num_images": num_images, "subset": subset,
          "train_examples": len(train["x"]), "load_images_per_sec": loaded / load_seconds,
          "pipeline_images_per_sec": num_steps * batch_size / pipeline_seconds}


def _report(results: list[dict], as_json: bool) -> None:
  """Prints one JSON line per result, or one table per measurement."""
  if as_json:
    for result in results:
      print(json.dumps(result), flush=True)
    return
  for measurement, columns in COLUMNS.items():
    rows = [r for r in results if r["measurement"] == measurement]
    if rows:
      print(f"{measurement} ({rows[0]['subset']})")
      print("".join(f"{header:>{width}}" for _, header, width, _ in columns))
      for row in rows:
        print("".join(f"{row[key]:>{width}{fmt}}" for key, _, width, fmt in columns), flush=True)


def main(argv):
  del argv
  workdir = FLAGS.workdir or tempfile.mkdtemp(prefix="celeba_bench_")
  os.makedirs(workdir, exist_ok=True)
  results = [bench_prepare(n, FLAGS.subset, workdir) for n in FLAGS.num_images]
  results.append(bench_read(max(FLAGS.num_images), FLAGS.subset, workdir, FLAGS.batch_size))
  _report(results, FLAGS.json)
  if not FLAGS.workdir:
    shutil.rmtree(workdir)


if __name__ == "__main__":
  app.run(main)
