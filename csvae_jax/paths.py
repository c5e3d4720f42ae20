"""Where runs and data live: local folders or bucket URIs (gs://bucket/run), through etils.epath.

Every file the trainer, checkpoints, eval, classifier, figures and data preparation read or write
goes through `resolve` (or `epath.Path` of a path built from it), so a `gs://` workdir or data_dir
works wherever TensorFlow's file systems reach (orbax and TFDS use the same abstraction).
"""

import os
import tempfile
import uuid

from etils import epath


def is_uri(path: str) -> bool:
  """Whether `path` names a remote location (gs://, s3://, ...) rather than a local one."""
  return "://" in str(path)


def resolve(path: str) -> epath.Path:
  """`path` as an epath.Path: URIs untouched, local paths with ~ expanded and made absolute."""
  path = os.fspath(path)
  return epath.Path(path if is_uri(path) else os.path.abspath(os.path.expanduser(path)))


def write_atomic(path: epath.Path, payload: bytes | str) -> None:
  """Writes `payload` to `path` through a temporary file of its own, then a rename.

  A reader never sees a partial file, and writers racing on one path (two runs preparing the same
  data cache or classifier) each rename a whole file of their own: the last one wins.
  """
  tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
  if isinstance(payload, str):
    tmp.write_text(payload)
  else:
    tmp.write_bytes(payload)
  tmp.replace(path)


def check_workdir(workdir: str) -> None:
  """Raises a clear error unless `workdir` is, or can become, a writable directory.

  A bucket URI (gs://...) is created if missing and otherwise left to its file system's errors.
  """
  if is_uri(workdir):
    resolve(workdir).mkdir(parents=True, exist_ok=True)
    return
  path = os.path.abspath(os.path.expanduser(workdir))
  if os.path.exists(path) and not os.path.isdir(path):
    raise NotADirectoryError(f"--workdir {workdir} is a file; give a directory.")
  if not os.path.isdir(path):
    if not os.path.isdir(os.path.dirname(path)):
      raise FileNotFoundError(f"The parent of --workdir {workdir} does not exist; create "
                              f"{os.path.dirname(path)} first or fix the path.")
    os.makedirs(path)
  try:
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    raise PermissionError(f"--workdir {workdir} is not writable ({e.strerror}); choose a "
                          "directory this user can write to.") from e
