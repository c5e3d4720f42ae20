"""The input pipeline of every dataset: deterministic, per-process, chunked batches on tf.data.

Batch positions are a pure function of (seed, step): the examples of global step s are positions
s*B .. s*B + B - 1 of an endless stream that visits the split once per epoch in the order of
`permutation(seed, epoch)`. A resumed run therefore sees exactly the batches an unbroken run would,
and each of P processes reads only its own contiguous B/P slice of every global batch. With
`labelled_per_batch` = L > 0 (semi-supervised training on a few labels), every batch takes L
examples from such a stream of the examples with an observed label and B - L from one of the
others, each stream with its own seed; each process's slice holds L/P of the first, then
(B - L)/P of the second.

Yields chunks {"x": [C, B/P, ...] (dtype of the split, e.g. uint8 images or float32 vectors),
"y": float32 [C, B/P, k], "y_mask": float32 [C, B/P, k] (1 where the label is observed, 0 where
missing: the model may only use y * y_mask)}: C = `steps_per_chunk` consecutive steps, run by one
compiled call.
"""

from typing import Iterator

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

FEATURES = ("x", "y", "y_mask")


def batch_indices(seed: int, first_step: int, num_steps: int, batch_size: int,
                  num_examples: int, process_index: int = 0,
                  process_count: int = 1) -> np.ndarray:
  """Indices into the split of this process's share of steps first_step .. first_step+num_steps-1.

  Args:
    seed: shuffling seed.
    first_step, num_steps: the steps of the chunk.
    batch_size: the global batch size B (divisible by process_count).
    num_examples: N, the size of the split.
    process_index, process_count: this process and the number of processes P.

  Returns:
    int64 [num_steps, B / P].
  """
  per_process = batch_size // process_count
  steps = np.arange(first_step, first_step + num_steps, dtype=np.int64)[:, None]
  offsets = process_index * per_process + np.arange(per_process, dtype=np.int64)[None, :]
  epoch, position = np.divmod(steps * batch_size + offsets, num_examples)
  indices = np.empty_like(position)
  for e in np.unique(epoch):
    in_epoch = epoch == e
    permutation = np.random.default_rng([seed, int(e)]).permutation(num_examples)
    indices[in_epoch] = permutation[position[in_epoch]]
  return indices


def make_chunks(split: dict[str, np.ndarray], *, seed: int, batch_size: int, first_step: int,
                num_steps: int, steps_per_chunk: int, labelled_per_batch: int = 0,
                process_index: int = 0, process_count: int = 1
                ) -> Iterator[dict[str, np.ndarray]]:
  """Chunks of consecutive batches of `split` for steps first_step .. num_steps - 1, prefetched.

  Args:
    split: {"x": [N, ...], "y": [N, k], "y_mask": [N, k]} in memory (other keys are ignored).
    seed: shuffling seed; batch positions depend only on (seed, step).
    batch_size: the global batch size B, divisible by process_count.
    first_step: the step to start from (a resumed run's checkpoint step).
    num_steps: the step to end before.
    steps_per_chunk: C; the last chunk may be shorter.
    labelled_per_batch: L, the examples with an observed label in every batch (0: as drawn).
    process_index, process_count: this process's share of each batch.

  Returns:
    An iterator of {"x": [C, B/P, ...], "y": [C, B/P, k], "y_mask": [C, B/P, k]} numpy chunks.
  """
  if batch_size % process_count:
    raise ValueError(f"batch_size={batch_size} is not divisible by the {process_count} processes.")
  arrays = {k: split[k] for k in FEATURES}
  streams = _streams(arrays["y_mask"], seed, batch_size, labelled_per_batch, process_count)
  starts = list(range(first_step, num_steps, steps_per_chunk))

  def load(start):
    length = min(steps_per_chunk, num_steps - start)
    idx = np.concatenate([members[batch_indices(stream_seed, int(start), length, size,
                                                len(members), process_index, process_count)]
                          for members, stream_seed, size in streams], axis=1)
    return tuple(arrays[k][idx] for k in FEATURES)

  dtypes = tuple(tf.as_dtype(arrays[k].dtype) for k in FEATURES)
  dataset = tf.data.Dataset.from_tensor_slices(np.asarray(starts, np.int64)).map(
      lambda start: tf.numpy_function(load, [start], dtypes),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)
  for chunk in dataset.as_numpy_iterator():
    yield dict(zip(FEATURES, chunk))


def _streams(y_mask: np.ndarray, seed: int, batch_size: int, labelled_per_batch: int,
             process_count: int) -> list[tuple[np.ndarray, int, int]]:
  """The streams a batch draws from: [(the split's indices in the stream [M], its seed, the
  examples it gives each global batch)]; y_mask [N, k]."""
  if not labelled_per_batch:
    return [(np.arange(len(y_mask)), seed, batch_size)]
  observed = np.any(y_mask > 0.5, axis=1)
  if not 0 < labelled_per_batch < batch_size or labelled_per_batch % process_count:
    raise ValueError(f"config.train.labelled_per_batch={labelled_per_batch}: 0, or fewer than "
                     f"batch_size={batch_size} and a multiple of the {process_count} processes.")
  if observed.all() or not observed.any():
    raise ValueError(f"config.train.labelled_per_batch={labelled_per_batch} needs training "
                     f"examples with and without labels, and {observed.sum()} of {len(observed)} "
                     "have one: set it to 0.")
  labelled_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
  return [(np.flatnonzero(observed), labelled_seed, labelled_per_batch),
          (np.flatnonzero(~observed), seed, batch_size - labelled_per_batch)]


def read_prepared(builder: tfds.core.DatasetBuilder, splits: tuple[str, ...],
                  observed_feature: str | None = None) -> dict[str, dict[str, np.ndarray]]:
  """Every split of a prepared image builder in memory.

  Args:
    builder: a prepared builder whose examples have "image", "labels" and "identity" features.
    splits: the names of the splits to read.
    observed_feature: a bool feature saying whether an example's labels are known; None: all are.

  Returns:
    {split: {"x": uint8 [N, H, W, C], "y": float32 [N, k], "y_mask": float32 [N, k] (1 where
    observed), "identity": int32 [N]}}.
  """
  out = {}
  for split in splits:
    batches = list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False).batch(1024)))
    y = np.concatenate([b["labels"] for b in batches])
    observed = (np.concatenate([b[observed_feature] for b in batches]) if observed_feature
                else np.ones(len(y), bool))
    out[split] = {"x": np.concatenate([b["image"] for b in batches]), "y": y,
                  "y_mask": np.repeat(observed.astype(np.float32)[:, None], y.shape[1], axis=1),
                  "identity": np.concatenate([b["identity"] for b in batches])}
  return out
