"""batching.map_batches: the same outputs as one call, from a few compiled shapes."""

import jax
import jax.numpy as jnp
import numpy as np

from csvae_jax import batching


def test_every_slice_is_padded_to_a_power_of_two_and_cut_back():
  shapes = []
  @jax.jit
  def fn(x, y):
    shapes.append(x.shape[0])  # once per compilation
    return {"sum": x.sum(axis=1) + y[:, 0], "x": x}
  rng = np.random.default_rng(0)
  for n in (1, 5, 8, 9, 31, 64, 100, 129, 300):
    x, y = rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)
    out = batching.map_batches(fn, x, y, batch_size=64)
    np.testing.assert_allclose(out["sum"], x.sum(axis=1) + y[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(out["x"], x)
  # Nine sizes from 1 to 300 compile four shapes: 8, 16, 32 and 64 rows.
  assert sorted(shapes) == [8, 16, 32, 64]


def test_none_passes_through_and_tuples_come_back():
  fn = lambda x, w: (x * 2, jnp.zeros(len(x), jnp.int32)) if w is None else None
  doubled, zeros = batching.map_batches(fn, np.arange(10.0)[:, None], None, batch_size=4)
  np.testing.assert_array_equal(doubled[:, 0], 2 * np.arange(10.0))
  assert zeros.shape == (10,)
  assert [batching.padded_size(n, 256) for n in (1, 8, 9, 200, 256)] == [8, 8, 16, 256, 256]
  # A batch size that is no power of two caps the padding: a full slice is not padded past it.
  assert [batching.padded_size(n, 100) for n in (60, 65, 100)] == [64, 100, 100]
