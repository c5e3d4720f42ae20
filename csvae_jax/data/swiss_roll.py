"""The swiss roll of paper 5.1: sklearn's make_swiss_roll, labelled by which half of its height.

Splits are dicts {"x": float32 [N, 3] raw coordinates, "y": float32 [N, 1] in {0, 1}}. Column 1 of
sklearn's points is the roll's height, uniform on [0, 21]; y = 1 where it is above 10
(docs/design.md#data).
"""

import numpy as np
from sklearn import datasets as sk_datasets

HEIGHT_THRESHOLD = 10.0
LABEL_NAMES = ("height_above_10",)


def make_split(num_points: int, seed: int) -> dict[str, np.ndarray]:
  """`num_points` points of the roll drawn with `seed`: {"x": [N, 3], "y": [N, 1]}."""
  x, _ = sk_datasets.make_swiss_roll(n_samples=num_points, random_state=seed)
  y = (x[:, 1] > HEIGHT_THRESHOLD).astype(np.float32)[:, None]
  return {"x": x.astype(np.float32), "y": y}


def load(num_train: int, num_test: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
  """{"train": ..., "test": ...}; the two splits come from independent streams of `seed`."""
  train_seed, test_seed = np.random.SeedSequence(seed).generate_state(2)
  return {"train": make_split(num_train, int(train_seed)), "test": make_split(num_test, int(test_seed))}
