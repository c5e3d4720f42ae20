"""A compiled function over many examples in a few shapes.

Each distinct input shape costs a jit-compiled function a compilation (seconds for a conv net on
a CPU, more on a GPU with its autotuning), and an evaluation meets many sizes: the examples with
an attribute, the pairs of a switch, the last slice of a split. Padding every slice to a power of
two keeps the shapes to a handful per function.
"""

from typing import Any, Callable, Optional

import jax
import numpy as np


def padded_size(n: int, batch_size: int) -> int:
  """The size a slice of n <= batch_size examples is padded to: the next power of two, at least
  8, at most batch_size."""
  return min(batch_size, max(8, 1 << (n - 1).bit_length()))


def map_batches(fn: Callable[..., Any], *arrays: Optional[np.ndarray], batch_size: int) -> Any:
  """fn over slices of `batch_size` examples of `arrays` (None passes through), concatenated.

  Each slice of n examples is padded to `padded_size(n)` rows with copies of its last example,
  and fn's outputs (a pytree of arrays [rows, ...]) are cut back to n. fn must treat the
  examples independently.

  Returns:
    fn's pytree with numpy leaves [N, ...], N the arrays' common length (N >= 1).
  """
  size = next(len(a) for a in arrays if a is not None)
  outs = []
  for start in range(0, size, batch_size):
    n = min(batch_size, size - start)
    rows = padded_size(n, batch_size)
    def pad(a):
      part = np.asarray(a[start:start + n])
      return np.concatenate([part, np.repeat(part[-1:], rows - n, axis=0)]) if rows > n else part
    out = jax.device_get(fn(*(None if a is None else pad(a) for a in arrays)))
    outs.append(jax.tree.map(lambda leaf: leaf[:n], out))
  return jax.tree.map(lambda *parts: np.concatenate(parts), *outs)
