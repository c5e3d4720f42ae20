"""A few hundred steps of a small model on the swiss roll, for tests and quick checks (seconds).

  python train.py --config configs/tiny.py --workdir /tmp/tiny
"""

from configs import base


def get_config():
  config = base.get_config()
  config.data.num_train = 2_000
  config.data.num_test = 500
  config.model.hidden = (32, 32)
  config.model.adversary_hidden = (32, 32)
  config.train.num_steps = 400
  config.train.batch_size = 64
  config.train.steps_per_dispatch = 100
  config.train.log_every = 100
  config.train.eval_every = 200
  config.train.ckpt_every = 200
  config.eval.probe_max_train = 2_000
  return config
