"""csvae_jax: the Conditional Subspace VAE (Klys, Snell, Zemel, NeurIPS 2018) in JAX/Flax.

  import csvae_jax
  model = csvae_jax.load(workdir)
  latents = model.encode(x, y)
  x_new = csvae_jax.switch_attribute(model, x, y, attribute="Eyeglasses", on=True)
"""

from csvae_jax.switching import switch_attribute
from csvae_jax.trained_model import TrainedModel
from csvae_jax.trained_model import load

__all__ = ["TrainedModel", "load", "switch_attribute"]
