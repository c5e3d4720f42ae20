"""Bucket paths: a gs:// workdir or data_dir reaches every consumer untouched, and the project's own
file writes go through etils.epath (here onto a local folder that stands in for the bucket)."""

import os

from etils import epath
from etils.epath import gpath
from etils.epath import testing as epath_testing
import numpy as np
from PIL import Image
import pytest

from configs import tiny
from csvae_jax import checkpoint
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import paths
from csvae_jax import plots
from csvae_jax import trainer
from csvae_jax.data import celeba
from csvae_jax.data import procedural

BUCKET = "gs://csvae-test-bucket"


def test_writers_racing_on_one_path_each_rename_a_whole_file(tmp_path, monkeypatch):
  """Two runs preparing the same data cache or classifier: the second writes and renames between
  the first's write and rename. Neither fails, the file is whole, no temporary file is left."""
  target = paths.resolve(str(tmp_path / "split.npz"))
  rename, interrupted = type(target).replace, []
  def replace(self, destination):
    if not interrupted:  # the first writer's rename: the second writer runs to the end first
      interrupted.append(self)
      paths.write_atomic(target, b"second writer")
    return rename(self, destination)
  monkeypatch.setattr(type(target), "replace", replace)
  paths.write_atomic(target, b"first writer")
  assert target.read_bytes() == b"first writer"
  assert os.listdir(tmp_path) == ["split.npz"]
  monkeypatch.undo()
  paths.write_atomic(target, b"a later run")  # a later write replaces the file
  assert target.read_bytes() == b"a later run"
  assert os.listdir(tmp_path) == ["split.npz"]


def test_relocate_follows_only_data_that_lay_inside_the_saved_workdir_and_exist_in_the_new(
    tmp_path):
  old, new = tmp_path / "run", tmp_path / "copy"
  for folder in (new / "data", tmp_path / "copy_data"):
    folder.mkdir(parents=True)
  config = tiny.get_config()
  config.data.data_dir, config.data.manual_dir = str(old / "data"), str(old / "manual")
  locations = {"workdir": str(old), "data.data_dir": str(old / "data"),
               "data.manual_dir": str(old / "manual")}
  moved = checkpoint.relocate(config, locations, str(new))
  assert moved.data.data_dir == str(new / "data")
  assert moved.data.manual_dir == str(old / "manual")  # not in the copy: left as it was
  assert config.data.data_dir == str(old / "data")  # the caller's config is not changed
  # A sibling whose name begins with the workdir's is not inside it.
  config.data.data_dir = locations["data.data_dir"] = str(tmp_path / "run_data")
  assert checkpoint.relocate(config, locations, str(new)).data.data_dir == str(
      tmp_path / "run_data")
  assert checkpoint.relocate(config, None, str(new)) is config  # a checkpoint from before them


def test_a_relative_data_dir_is_kept_absolute_so_a_moved_run_finds_it(tmp_path, monkeypatch):
  """A run started with relative paths (--workdir run --config.data.data_dir run/data), then
  copied and resumed from another directory."""
  monkeypatch.chdir(tmp_path)
  config = tiny.get_config()
  config.data.data_dir = "run/data"
  locations = checkpoint._locations(checkpoint.make_manager("run"), config)  # what save keeps
  assert locations["data.data_dir"] == str(tmp_path / "run" / "data")
  (tmp_path / "copy" / "data").mkdir(parents=True)
  monkeypatch.chdir("/")
  assert checkpoint.relocate(config, locations, str(tmp_path / "copy")).data.data_dir == str(
      tmp_path / "copy" / "data")


def test_resolve_leaves_uris_alone_and_makes_local_paths_absolute(monkeypatch, tmp_path):
  assert str(paths.resolve(f"{BUCKET}/run")) == f"{BUCKET}/run"
  assert str(paths.resolve(f"{BUCKET}/run") / "checkpoints") == f"{BUCKET}/run/checkpoints"
  assert str(paths.resolve("s3://bucket/run")) == "s3://bucket/run"  # any scheme, not only gs://
  monkeypatch.setenv("HOME", str(tmp_path))
  monkeypatch.chdir(tmp_path)
  assert str(paths.resolve("~/runs/a")) == os.path.join(str(tmp_path), "runs", "a")
  assert str(paths.resolve("runs/a")) == os.path.join(str(tmp_path), "runs", "a")


@pytest.fixture
def bucket(monkeypatch, tmp_path):
  """gs:// paths served from tmp_path/bucket by epath, offline; returns that folder."""
  root = tmp_path / "bucket"
  local = lambda path: os.fspath(path).replace(BUCKET, str(root))
  def redirect(original, path, *args, **kwargs):
    return original(local(path), *args, **kwargs)
  def redirect_two(original, path, dst, *args, **kwargs):
    return original(local(path), local(dst), *args, **kwargs)
  monkeypatch.setattr(gpath, "_is_tf_installed", lambda: False)  # epath's backend, not TF's
  with epath_testing.mock_epath(
      open=redirect, exists=redirect, isdir=redirect, listdir=redirect, glob=redirect,
      makedirs=redirect, mkdir=redirect, remove=redirect, rmtree=redirect, stat=redirect,
      rename=redirect_two, replace=redirect_two):
    yield root


class _Stop(Exception):
  pass


def test_trainer_hands_a_bucket_workdir_to_orbax_and_tensorboard_untouched(bucket, monkeypatch):
  received = {}
  class Manager:
    def __init__(self, directory, options):
      received["checkpoints"] = str(directory)
    def latest_step(self):
      return None
  def writer(logdir, just_logging):
    received["tensorboard"] = logdir
    raise _Stop  # The rest of the run needs the bucket itself.
  monkeypatch.setattr(checkpoint.ocp, "CheckpointManager", Manager)
  monkeypatch.setattr(trainer.metric_writers, "create_default_writer", writer)
  with pytest.raises(_Stop):
    trainer.train_and_evaluate(tiny.get_config(), f"{BUCKET}/run")
  assert received == {"checkpoints": f"{BUCKET}/run/checkpoints",
                      "tensorboard": f"{BUCKET}/run"}
  assert (bucket / "run").is_dir()  # check_workdir created it through epath
  assert not os.path.exists("gs:")  # and nothing took the URI for a local path


def test_eval_outputs_are_written_to_a_bucket(bucket):
  out = f"{BUCKET}/run/eval"
  epath.Path(out).mkdir(parents=True)
  evaluate._write(  # pylint: disable=protected-access
      out, "table1", {"mean_accuracy": 0.9}, "| a |\n")
  images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), np.uint8)
  plots.save_image_grid(f"{out}/grid.png", images, columns=2)
  assert (bucket / "run/eval/table1.json").read_text() == '{\n  "mean_accuracy": 0.9\n}'
  assert (bucket / "run/eval/table1.md").read_text() == "| a |\n"
  assert Image.open(bucket / "run/eval/grid.png").size == (16, 16)


def test_a_bucket_data_dir_reaches_the_dataset_builder_untouched(monkeypatch):
  received = {}
  def load(manual_dir, data_dir, subset):
    received.update(manual_dir=manual_dir, data_dir=data_dir)
    raise _Stop
  monkeypatch.setattr(celeba, "load", load)
  config = tiny.get_config().data
  config.name, config.subset = "celeba", "glasses"
  config.manual_dir, config.data_dir = f"{BUCKET}/celeba", f"{BUCKET}/tensorflow_datasets"
  with pytest.raises(_Stop):
    data_lib.load_dataset(config)
  assert received == {"manual_dir": f"{BUCKET}/celeba",
                      "data_dir": f"{BUCKET}/tensorflow_datasets"}


def test_the_procedural_cache_lives_in_a_bucket_data_dir(bucket, monkeypatch):
  first = procedural.load(8, 4, 4, seed=1, image_size=16, cache_dir=f"{BUCKET}/tfds")
  assert len(list((bucket / "tfds").glob("procedural_*.npz"))) == 3
  monkeypatch.setattr(procedural, "make_split", lambda *args: pytest.fail("not read back"))
  again = procedural.load(8, 4, 4, seed=1, image_size=16, cache_dir=f"{BUCKET}/tfds")
  np.testing.assert_array_equal(again["test"]["x"], first["test"]["x"])
