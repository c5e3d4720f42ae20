"""Where runs and data live: local folders or bucket URIs (gs://bucket/run), through etils.epath.

Every file the trainer, checkpoints, eval, classifier, figures and data preparation read or write
goes through `resolve` (or `epath.Path` of a path built from it), so a `gs://` workdir or data_dir
works wherever TensorFlow's file systems reach (orbax and TFDS use the same abstraction).
"""

import os

from etils import epath


def is_uri(path: str) -> bool:
  """Whether `path` names a remote location (gs://, s3://, ...) rather than a local one."""
  return "://" in str(path)


def resolve(path: str) -> epath.Path:
  """`path` as an epath.Path: URIs untouched, local paths with ~ expanded and made absolute."""
  path = os.fspath(path)
  return epath.Path(path if is_uri(path) else os.path.abspath(os.path.expanduser(path)))
