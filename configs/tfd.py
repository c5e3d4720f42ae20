"""CSVAE on the Toronto Face Dataset (paper 5.2.1): 48x48 grey faces, seven expressions as k = 7.

  python train.py --config configs/tfd.py --workdir runs/tfd --config.data.manual_dir=/path/to/tfd

The first run prepares the data once (pseudo-labelling protocol of 5.2.1) into
config.data.data_dir; --config.data.unlabelled=missing keeps the unlabelled images without labels
instead, =drop keeps the labelled images only. Not yet timed on a GPU (48x48x1 images: cheaper
than CelebA's 64x64x3).
"""

from configs import image_base


def get_config(target: str = "cpu"):
  config = image_base.get_config(target)
  config.data.name = "tfd"
  config.data.resolution = "48x48"
  config.data.unlabelled = "pseudo"  # Paper 5.2.1; "missing" or "drop" for the other protocols.
  config.train.num_steps = 100_000
  return config
