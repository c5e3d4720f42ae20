"""Pure objectives of the paper (section 4.1): KL terms, likelihoods, M1, M2, N, CondVAE-info's eq. 3.

Per-example functions take unbatched arrays ([D], [Dz], [k], ...) and return scalars; `vae_loss`
and `adversary_loss` `jax.vmap` them over the batch and reduce with a mean in one place.
"""

import math
from typing import Optional

import jax
import jax.numpy as jnp
import optax

from csvae_jax import models

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_kl(mu_q: jax.Array, logvar_q: jax.Array,
                mu_p: jax.Array | float = 0.0, logvar_p: jax.Array | float = 0.0) -> jax.Array:
  """KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p))) of diagonal Gaussians, summed: [d] -> []."""
  return 0.5 * jnp.sum(logvar_p - logvar_q
                       + (jnp.exp(logvar_q) + (mu_q - mu_p) ** 2) * jnp.exp(-logvar_p) - 1.0)


def gaussian_log_likelihood(x: jax.Array, mu: jax.Array, logvar: jax.Array) -> jax.Array:
  """log N(x | mu, exp(logvar)) of a diagonal Gaussian, summed over dims: [D] -> []."""
  return -0.5 * jnp.sum(LOG_2PI + logvar + (x - mu) ** 2 * jnp.exp(-logvar))


def bernoulli_log_likelihood(x: jax.Array, logits: jax.Array) -> jax.Array:
  """log Bern(x | sigmoid(logits)) for x in [0, 1] (continuous x allowed), summed: [D] -> []."""
  return -jnp.sum(optax.sigmoid_binary_cross_entropy(logits, x))


def negative_entropy(logits: jax.Array) -> jax.Array:
  """M2 for one example: sum_i q_i log q_i + (1 - q_i) log(1 - q_i), q = sigmoid(logits): [k] -> [].

  Minimised by the encoder, this makes the adversary's prediction from z maximally uncertain.
  """
  q = jax.nn.sigmoid(logits)
  return jnp.sum(q * jax.nn.log_sigmoid(logits) + (1.0 - q) * jax.nn.log_sigmoid(-logits))


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """-sum_i log q(y_i | z) of k independent Bernoullis (the adversary's N, and eq. 3): [k] -> []."""
  return jnp.sum(optax.sigmoid_binary_cross_entropy(logits, y))


def _log_likelihood(likelihood: str, x, x_mu, x_logvar):
  if likelihood == "bernoulli":
    return bernoulli_log_likelihood(x, x_mu)
  return gaussian_log_likelihood(x, x_mu, x_logvar)


def vae_loss(spec: models.ModelSpec, betas: dict[str, float], out: models.ModelOutput,
             x: jax.Array, y: jax.Array,
             adversary_logits: Optional[jax.Array]) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The encoder/decoder objective, averaged over the batch.

  beta_x * recon + beta_z * KL_z + beta_w * KL_w + beta_h * h, with
  - recon = -log p(x | w, z) (eq. 5), or -log p(x | z[, y]) for the baselines (eqs. 1-2);
  - KL_z = KL(q(z|.) || N(0, I)); KL_w = KL(q(w|x,y) || p(w|y)) for CSVAE (eq. 5);
  - h = M2 (negative entropy of q_delta(y|z)) for CSVAE, -cross-entropy of r(y|z) for
    CondVAE-info (the encoder's side of eq. 3), absent otherwise.

  Args:
    spec: the model's spec (kind, likelihood, W priors).
    betas: {"beta_x", "beta_z", "beta_w", "beta_h"}.
    out: the model's output on the batch.
    x: [B, D] data in its own units. y: [B, k] labels in {0, 1}.
    adversary_logits: [B, k] the adversary's logits on `out.z`, or None without an adversary.

  Returns:
    (scalar loss, {term name: scalar batch mean}).
  """
  terms = {
      "recon": -jax.vmap(lambda *a: _log_likelihood(spec.likelihood, *a))(x, out.x_mu, out.x_logvar),
      "kl_z": jax.vmap(gaussian_kl)(out.z_mu, out.z_logvar),
  }
  if spec.has_w:
    prior_mu, prior_logvar = models.w_prior(spec, y)
    terms["kl_w"] = jax.vmap(gaussian_kl)(out.w_mu, out.w_logvar, prior_mu, prior_logvar)
  if spec.kind == "csvae":
    terms["m2"] = jax.vmap(negative_entropy)(adversary_logits)
  elif spec.kind == "condvae_info":
    terms["neg_adv_ce"] = -jax.vmap(cross_entropy)(adversary_logits, y)
  weights = {"recon": betas["beta_x"], "kl_z": betas["beta_z"], "kl_w": betas["beta_w"],
             "m2": betas["beta_h"], "neg_adv_ce": betas["beta_h"]}
  metrics = {name: jnp.mean(value) for name, value in terms.items()}
  loss = sum(weights[name] * value for name, value in metrics.items())
  return loss, metrics


def adversary_loss(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
  """N: the adversary's cross-entropy on z, batch mean; logits, y [B, k]. Also its accuracy."""
  n = jnp.mean(jax.vmap(cross_entropy)(logits, y))
  accuracy = jnp.mean((logits > 0) == (y > 0.5))
  return n, {"n": n, "adv_acc": accuracy}
