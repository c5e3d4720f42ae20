"""python .gpu/render.py SEED: renders the procedural faces of data seed SEED once, before the runs."""
import sys

sys.path.insert(0, ".")
from configs import procedural
from csvae_jax import data
config = procedural.get_config()
config.data.seed = int(sys.argv[1])
data.load_dataset(config.data)
print("rendered data seed", sys.argv[1], flush=True)
