"""The CelebA configs' one builder (paper 5.2.2): `configs/celeba_glasses.py`,
`configs/celeba_facial_hair.py` and `configs/celeba_glasses_facial_hair.py` call it with their
subset. Not an experiment by itself.
"""

from configs import image_base

SUBSETS = ("glasses", "facial_hair", "glasses_facial_hair")


def get_config(subset: str, target: str = "cpu"):
  if subset not in SUBSETS:
    raise ValueError(f"Unknown CelebA subset {subset!r}; valid: {', '.join(SUBSETS)}.")
  config = image_base.get_config(target)
  config.data.name = "celeba"
  config.data.subset = subset
  config.train.num_steps = 100_000
  return config
