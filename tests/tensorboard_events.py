"""The events a run wrote for TensorBoard, read back for tests."""

import pathlib


def read(workdir: pathlib.Path) -> list:
  """The events (tf Event protos) of every TensorBoard event file in `workdir`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return [event for path in workdir.glob("events.out.tfevents*")
          for event in tf.compat.v1.train.summary_iterator(str(path))]
