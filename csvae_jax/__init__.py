"""csvae_jax: the Conditional Subspace VAE (Klys, Snell, Zemel, NeurIPS 2018) in JAX/Flax.

  import csvae_jax
  model = csvae_jax.load(workdir)
  latents = model.encode(x, y)
"""

from csvae_jax.trained_model import TrainedModel
from csvae_jax.trained_model import load

__all__ = ["TrainedModel", "load"]
