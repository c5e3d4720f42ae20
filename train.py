"""Trains a model of the paper on a dataset, resuming from --workdir if it holds a run.

  python train.py --config configs/swiss_roll.py --workdir /tmp/swiss_roll [--config.train.num_steps=5000]

The checkout's name for `csvae-train` (csvae_jax/train_cli.py), whose flags it takes.
"""

from csvae_jax import train_cli

if __name__ == "__main__":
  train_cli.run()
