"""CSVAE on the procedural face images that ship with the project (no download): 64x64 RGB
cartoon faces with Eyeglasses, Facial_Hair and Smiling, three styles each.

  python train.py --config configs/procedural.py --workdir runs/procedural
  python eval.py  --config configs/procedural.py --workdir runs/procedural

The networks of the CelebA configs (configs/image_base.py): about 16 minutes of training on 2
CPU cores with AVX-512 (docs/experiments/2026-12-01-wide-default/README.md). Half the widths,
--config.model.conv_channels='(16,32,64,128)', train 2.7 times as fast to weaker edits. The
first run renders the data once into config.data.data_dir.
"""

from configs import image_base


def get_config(target: str = "cpu"):
  config = image_base.get_config(target)
  config.data.name = "procedural"
  config.data.num_train = 10_000
  config.data.num_validation = 1_000
  config.data.num_test = 1_000
  config.model.z_dim = 16
  config.train.num_steps = 2_500
  config.train.log_every = 250
  config.train.eval_every = 500
  config.train.ckpt_every = 500
  return config
