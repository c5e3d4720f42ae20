"""The state of a folder's files, to assert that preparing a dataset leaves a user's files alone."""

import hashlib
import os


def snapshot(root: str) -> dict[str, tuple[int, str]]:
  """{path: (mtime_ns, sha256)} of every file under `root`."""
  files = {}
  for folder, _, names in os.walk(root):
    for name in names:
      path = os.path.join(folder, name)
      with open(path, "rb") as f:
        files[path] = (os.stat(path).st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
  return files
