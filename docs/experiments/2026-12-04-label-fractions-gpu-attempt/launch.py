"""python launch.py SCRIPT ARGS...: runs a repo script where TensorFlow is absent.

tf.data is replaced by the same chunks read from numpy in a thread (the pipeline's own
batch_indices decide them), and clu's TensorBoard writer by nothing (logs still go to stdout).
"""
import importlib.machinery
import queue
import runpy
import sys
import threading
import types


class _Dataset:
  def __init__(self, make):
    self._make = make

  @staticmethod
  def from_tensor_slices(array):
    return _Dataset(lambda: iter(list(array)))

  def map(self, fn, num_parallel_calls=None, deterministic=None):
    make = self._make
    return _Dataset(lambda: (fn(x) for x in make()))

  def prefetch(self, n):
    make = self._make

    def gen():
      q, done = queue.Queue(maxsize=max(n, 1)), object()

      def work():
        for item in make():
          q.put(item)
        q.put(done)

      threading.Thread(target=work, daemon=True).start()
      while (item := q.get()) is not done:
        yield item
    return _Dataset(gen)

  def as_numpy_iterator(self):
    return self._make()


tf = types.ModuleType("tensorflow")
tf.data = types.SimpleNamespace(Dataset=_Dataset, AUTOTUNE=-1)
tf.numpy_function = lambda f, args, dtypes: f(*args)
tf.as_dtype = lambda d: d
tfds = types.ModuleType("tensorflow_datasets")
tfds.core = types.SimpleNamespace(DatasetBuilder=object)
for module in (tf, tfds):
  module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)
sys.modules["tensorflow"] = tf
sys.modules["tensorflow_datasets"] = tfds


class _NoWriter:
  def __init__(self, logdir):
    del logdir

  def __getattr__(self, name):
    return lambda *a, **k: None


summary_writer = types.ModuleType("clu.metric_writers.summary_writer")
summary_writer.SummaryWriter = _NoWriter
sys.modules["clu.metric_writers.summary_writer"] = summary_writer

script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
