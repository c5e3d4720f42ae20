"""CSVAE on CelebA-Facial Hair (paper 5.2.2): faces with a beard, moustache or goatee, as many without.

  python train.py --config configs/celeba_facial_hair.py --workdir runs/celeba_facial_hair \
      --config.data.manual_dir=/path/to/celeba

The first run prepares the subset once into config.data.data_dir (README.md#getting-celeba-and-tfd).
Not yet timed on a GPU; on 2 CPU cores a step takes about 0.5 s (bench/scaling.py: 121 images/s).
"""

from configs import celeba_base


def get_config(target: str = "cpu"):
  return celeba_base.get_config("facial_hair", target)
