"""How right the paper's TFD protocol's pseudo-labels are on the procedural faces, whose hidden
labels are known: the classifier `data.unlabelled=pseudo` fits (csvae_jax/data/pseudo_labels.py),
on the same labelled examples as `scripts/label_fractions.py` (data seed 1, label seed = the run's
seed), scored against the hidden labels of the training and validation splits.

  python docs/experiments/2026-12-02-label-fractions/pseudo_label_accuracy.py 0.1 10
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

import numpy as np  # pylint: disable=g-import-not-at-top

from configs import procedural
from csvae_jax import data as data_lib
from csvae_jax.data import pseudo_labels


def main(fraction: float, seed: int):
  config = procedural.get_config().data
  config.seed, config.label_fraction, config.label_seed = 1, fraction, seed
  config.unlabelled = "missing"
  dataset = data_lib.load_dataset(config)
  train = dataset.splits["train"]
  labelled = train["y_mask"].min(axis=1) > 0.5
  print(f"label fraction {fraction}, seed {seed}: {labelled.sum()} labelled training examples; "
        f"labels {', '.join(dataset.label_names)}")
  for name in ("train", "validation"):
    split = dataset.splits[name]
    hidden = split["y_mask"].min(axis=1) < 0.5
    y, sure = pseudo_labels.predict(train["x"][labelled], train["y"][labelled],
                                    split["x"][hidden], exclusive=False, seed=seed)
    right = y == split["y"][hidden]
    print(f"{name}: {sure.sum()} of {hidden.sum()} kept at {pseudo_labels.CONFIDENCE}; "
          f"kept right per label {np.round(right[sure].mean(axis=0), 4).tolist()}, "
          f"every label {right[sure].all(axis=1).mean():.4f}; "
          f"all hidden right per label {np.round(right.mean(axis=0), 4).tolist()}")


if __name__ == "__main__":
  main(float(sys.argv[1]), int(sys.argv[2]))
