"""The input pipeline: batches keyed by (seed, step), epochs without repeats, per-process slices."""

import time

import numpy as np
import pytest

from csvae_jax.data import pipeline


def _split(n=50):
  """Example i has x = (2i, 2i + 1), y = i and its label observed where i % 3 == 0."""
  x = np.arange(n * 2, dtype=np.uint8).reshape(n, 2)
  y = np.arange(n, dtype=np.float32)[:, None]
  return {"x": x, "y": y, "y_mask": (y % 3 == 0).astype(np.float32),
          "identity": np.zeros(n, np.int32)}


def _chunks(split, **kwargs):
  args = dict(seed=3, batch_size=8, first_step=0, num_steps=20, steps_per_chunk=6)
  args.update(kwargs)
  return list(pipeline.make_chunks(split, **args))


def test_chunks_have_the_promised_shapes_and_dtypes():
  chunks = _chunks(_split())
  assert [len(c["y"]) for c in chunks] == [6, 6, 6, 2]
  assert chunks[0]["x"].shape == (6, 8, 2) and chunks[0]["x"].dtype == np.uint8
  assert chunks[0]["y"].shape == (6, 8, 1) and chunks[0]["y"].dtype == np.float32
  assert chunks[0]["y_mask"].shape == (6, 8, 1) and chunks[0]["y_mask"].dtype == np.float32
  assert set(chunks[0]) == {"x", "y", "y_mask"}


def test_masks_travel_with_their_examples():
  for chunk in _chunks(_split(), process_index=1, process_count=2):
    np.testing.assert_array_equal(chunk["x"][..., 0], 2 * chunk["y"][..., 0])
    np.testing.assert_array_equal(chunk["y_mask"], chunk["y"] % 3 == 0)


def test_batches_depend_only_on_seed_and_step():
  split = _split()
  full = np.concatenate([c["y"] for c in _chunks(split)])
  resumed = np.concatenate([c["y"] for c in _chunks(split, first_step=12, steps_per_chunk=5)])
  np.testing.assert_array_equal(full[12:], resumed)
  other_seed = np.concatenate([c["y"] for c in _chunks(split, seed=4)])
  assert not np.array_equal(full, other_seed)


def test_chunks_keep_step_order_when_an_earlier_one_loads_slower(monkeypatch):
  """Chunks load in parallel; a step's batch must not depend on which load finished first."""
  unbroken = _chunks(_split())
  batch_indices = pipeline.batch_indices
  def slow_first_chunk(seed, first_step, *args):
    if first_step == 0:
      time.sleep(1.0)
    return batch_indices(seed, first_step, *args)
  monkeypatch.setattr(pipeline, "batch_indices", slow_first_chunk)
  for chunk, expected in zip(_chunks(_split()), unbroken, strict=True):
    np.testing.assert_array_equal(chunk["y"], expected["y"])


def test_each_epoch_visits_every_example_once():
  split = _split(40)
  ids = np.concatenate([c["y"] for c in _chunks(split, num_steps=10)]).reshape(-1)  # 80 = 2 epochs
  for epoch in (ids[:40], ids[40:]):
    np.testing.assert_array_equal(np.sort(epoch), np.arange(40))
  assert not np.array_equal(ids[:40], ids[40:])


def test_processes_read_disjoint_slices_of_the_global_batch():
  split = _split()
  whole = _chunks(split)
  parts = [_chunks(split, process_index=p, process_count=4) for p in range(4)]
  for i, chunk in enumerate(whole):
    np.testing.assert_array_equal(
        chunk["x"], np.concatenate([part[i]["x"] for part in parts], axis=1))


def test_batch_size_must_divide_among_processes():
  with pytest.raises(ValueError, match="batch_size=8 is not divisible by the 3 processes"):
    _chunks(_split(), process_count=3)


def _stream_ids(chunks):
  """[steps, B/P] example ids (y) of a list of chunks, and their masks."""
  return (np.concatenate([c["y"][..., 0] for c in chunks]),
          np.concatenate([c["y_mask"][..., 0] for c in chunks]))


def test_labelled_per_batch_draws_each_batch_from_two_streams():
  """17 of 50 examples labelled, 2 of every batch of 8: each stream visits its examples once per
  its own epoch, and the batches stay a function of (seed, step) only."""
  split = _split()
  labelled, unlabelled = np.arange(0, 50, 3), np.setdiff1d(np.arange(50), np.arange(0, 50, 3))
  ids, masks = _stream_ids(_chunks(split, labelled_per_batch=2, num_steps=30))
  np.testing.assert_array_equal(masks, np.repeat([[1, 1, 0, 0, 0, 0, 0, 0]], 30, axis=0))
  for stream, members in ((ids[:, :2], labelled), (ids[:, 2:], unlabelled)):
    for epoch in np.split(stream.reshape(-1)[:2 * len(members)], 2):
      np.testing.assert_array_equal(np.sort(epoch), members)
  resumed, _ = _stream_ids(_chunks(split, labelled_per_batch=2, num_steps=30, first_step=12,
                                   steps_per_chunk=5))
  np.testing.assert_array_equal(ids[12:], resumed)
  unmixed, _ = _stream_ids(_chunks(split, num_steps=30))
  assert not np.array_equal(ids, unmixed)


def test_an_example_with_any_of_its_labels_observed_is_drawn_as_labelled():
  """Two labels, observed where i % 3 == 0 and where i % 5 == 0: an example with either counts."""
  split = _split()
  i = split["y"][:, 0]
  split["y"] = np.stack([i, i], axis=1)
  split["y_mask"] = np.stack([i % 3 == 0, i % 5 == 0], axis=1).astype(np.float32)
  ids, _ = _stream_ids(_chunks(split, labelled_per_batch=2, num_steps=30))
  labelled = (i % 3 == 0) | (i % 5 == 0)
  np.testing.assert_array_equal(np.unique(ids[:, :2]), i[labelled])
  np.testing.assert_array_equal(np.unique(ids[:, 2:]), i[~labelled])


def test_labelled_and_unlabelled_streams_shuffle_independently():
  """25 labelled (even ids) and 25 unlabelled: the two halves of a batch do not sit at the same
  places of their streams (one seed for both would pair each labelled example with the same
  unlabelled one in every epoch)."""
  split = _split()
  split["y_mask"] = (split["y"] % 2 == 0).astype(np.float32)
  ids, masks = _stream_ids(_chunks(split, labelled_per_batch=4, num_steps=30))
  np.testing.assert_array_equal(masks[:, :4], 1)
  assert not np.array_equal(ids[:, :4] // 2, ids[:, 4:] // 2)


def test_labelled_per_batch_shares_each_stream_among_processes():
  split = _split()
  whole, _ = _stream_ids(_chunks(split, labelled_per_batch=4))
  parts = [_stream_ids(_chunks(split, labelled_per_batch=4, process_index=p, process_count=2))
           for p in range(2)]
  for ids, masks in parts:
    np.testing.assert_array_equal(masks.sum(axis=1), 2)
  np.testing.assert_array_equal(np.sort(whole, axis=1),
                                np.sort(np.concatenate([ids for ids, _ in parts], axis=1), axis=1))


@pytest.mark.parametrize("mask, labelled_per_batch, process_count, match", [
    (None, 8, 1, "labelled_per_batch=8: 0, or fewer than batch_size=8"),
    (None, 3, 2, "a multiple of the 2 processes"),
    (1.0, 2, 1, "needs training examples with and without labels, and 50 of 50 have one"),
    (0.0, 2, 1, "and 0 of 50 have one"),
])
def test_labelled_per_batch_errors_name_the_problem(mask, labelled_per_batch, process_count,
                                                    match):
  split = _split()
  if mask is not None:
    split["y_mask"] = np.full_like(split["y_mask"], mask)
  with pytest.raises(ValueError, match=match):
    _chunks(split, labelled_per_batch=labelled_per_batch, process_count=process_count)
