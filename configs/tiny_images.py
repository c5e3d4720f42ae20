"""Twenty steps of small conv nets on 32x32 procedural faces, for tests and quick checks.

  python train.py --config configs/tiny_images.py --workdir /tmp/tiny_images
"""

from configs import procedural


def get_config():
  config = procedural.get_config()
  config.data.image_size = 32
  config.data.num_train, config.data.num_validation, config.data.num_test = 128, 64, 32
  config.model.conv_channels = (8, 16)
  config.model.z_dim = 4
  config.train.num_steps, config.train.batch_size = 20, 16
  config.train.log_every, config.train.eval_every, config.train.ckpt_every = 10, 20, 20
  for player in ("vae", "adversary"):  # image_base's 500 warmup steps would leave it untrained
    config.optim[player].warmup_steps = 5
  config.eval.probe_max_train = 128
  config.eval.search_examples = config.eval.search_pairs = config.eval.pairs = 32
  config.eval.classifier_channels, config.eval.classifier_steps = (8, 16), 50
  return config
