"""Pure objectives of the paper (section 4.1): KL terms, likelihoods, M1, M2, N, CondVAE-info's eq. 3.

Per-example functions take unbatched arrays ([D], [Dz], [k], ...) and return scalars; `vae_loss`
and `adversary_loss` `jax.vmap` them over the batch and reduce with a mean in one place.
"""

import math
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from csvae_jax import models

LOG_2PI = math.log(2.0 * math.pi)


def masked_mean(values: jax.Array, weights: jax.Array) -> jax.Array:
  """sum(weights * values) / sum(weights), over all axes; 0 where the weights sum to 0 (a share
  over the observed labels of a batch that has none)."""
  return jnp.sum(weights * values) / jnp.maximum(jnp.sum(weights), 1.0)


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


def example_terms(spec: models.ModelSpec, out: models.ModelOutput, x: jax.Array, y: jax.Array,
                  adversary_logits: Optional[jax.Array]) -> dict[str, jax.Array]:
  """The encoder/decoder's terms per example, unweighted, each [B] (see `vae_loss`)."""
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
  return terms


ADVERSARIAL_TERMS = ("m2", "neg_adv_ce")  # beta_h's: CSVAE's M2, CondVAE-info's -CE(r(y|z), y)


def _weighted_sum(betas: dict[str, float], means: dict[str, jax.Array]) -> jax.Array:
  """beta_x * recon + beta_z * KL_z + beta_w * KL_w + beta_h * (M2 or the adversarial term)."""
  weights = {"recon": betas["beta_x"], "kl_z": betas["beta_z"], "kl_w": betas["beta_w"],
             "m2": betas["beta_h"], "neg_adv_ce": betas["beta_h"]}
  return sum(weights[name] * value for name, value in means.items())


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
    x: [B, *x_shape] data in its own units (images in [0, 1]). y: [B, k] labels in {0, 1}.
    adversary_logits: [B, k] the adversary's logits on `out.z`, or None without an adversary.

  Returns:
    (scalar loss, {term name: scalar batch mean}).
  """
  terms = example_terms(spec, out, x, y, adversary_logits)
  metrics = {name: jnp.mean(value) for name, value in terms.items()}
  return _weighted_sum(betas, metrics), metrics


def label_combinations(num_labels: int, exclusive: bool) -> np.ndarray:
  """Every value y can take: float32 [C, k], the k one-hot rows for exclusive labels, else the
  2^k binary vectors (row c holds the bits of c, label 0 the lowest)."""
  if exclusive:
    return np.eye(num_labels, dtype=np.float32)
  codes = np.arange(2 ** num_labels)[:, None]
  return ((codes >> np.arange(num_labels)[None, :]) & 1).astype(np.float32)


def _missing_example(y_mask: jax.Array) -> jax.Array:
  """Exclusive labels are observed together: an example misses its label if any column is
  missing. y_mask [..., k] -> bool [...]."""
  return jnp.any(y_mask < 0.5, axis=-1)


def combination_weights(logits: jax.Array, y: jax.Array, y_mask: jax.Array,
                        combos: jax.Array, exclusive: bool) -> jax.Array:
  """For one example, the weight of each label combination in its bound: q(y_missing | x) for the
  combinations that agree with its observed labels, 0 for the others (an example with every label
  observed puts weight 1 on its own labels).

  Args:
    logits: [k] q(y|x). y: [k] labels (missing ones ignored). y_mask: [k], 1 observed.
    combos: [C, k] `label_combinations`.

  Returns:
    [C], summing to 1.
  """
  if exclusive:
    return jnp.where(_missing_example(y_mask), jax.nn.softmax(logits), y)
  missing, logits, y = 1.0 - y_mask[None], logits[None], y[None]  # [1, k], against combos [C, k]
  log_q = combos * jax.nn.log_sigmoid(logits) + (1.0 - combos) * jax.nn.log_sigmoid(-logits)
  agrees = jnp.all((missing > 0.5) | (combos == y), axis=-1)
  return jnp.where(agrees, jnp.exp(jnp.sum(missing * log_q, axis=-1)), 0.0)


def missing_entropy(logits: jax.Array, y_mask: jax.Array, exclusive: bool) -> jax.Array:
  """H(q(y_missing | x)) of one example: logits, y_mask [k] -> [] (0 with every label observed)."""
  if exclusive:
    entropy = -jnp.sum(jax.nn.softmax(logits) * jax.nn.log_softmax(logits))
    return jnp.where(_missing_example(y_mask), entropy, 0.0)
  q = jax.nn.sigmoid(logits)
  per_label = -(q * jax.nn.log_sigmoid(logits) + (1.0 - q) * jax.nn.log_sigmoid(-logits))
  return jnp.sum((1.0 - y_mask) * per_label)


def observed_cross_entropy(logits: jax.Array, y: jax.Array, y_mask: jax.Array,
                           exclusive: bool) -> jax.Array:
  """-log q(y_observed | x) of one example: logits, y, y_mask [k] -> []."""
  if exclusive:
    ce = optax.softmax_cross_entropy(logits, y)
    return jnp.where(_missing_example(y_mask), 0.0, ce)
  return jnp.sum(y_mask * optax.sigmoid_binary_cross_entropy(logits, y))


def semi_supervised_loss(spec: models.ModelSpec, betas: dict[str, float], alpha: float,
                         terms: dict[str, jax.Array], combo_terms: dict[str, jax.Array],
                         combos: jax.Array, y_logits: jax.Array, y: jax.Array,
                         y_mask: jax.Array, unlabelled_weight: jax.Array | float = 1.0
                         ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The objective with missing labels (Kingma et al. 2014's M2 bound, for every kind that takes
  y), averaged over the batch:

    every label observed:  L(x, y) + alpha * CE
    some labels missing:   sum_y' q(y'_missing | x) L(x, y') - H(q(y_missing | x)) + alpha * CE

  L is the beta-weighted bound of `vae_loss`, the sum running over the label combinations that
  agree with the observed labels (exact enumeration: 2^k of them, or k for exclusive labels); CE
  is -log q(y_observed | x), averaged over the examples with an observed label. An example with a
  missing label enters the batch mean weighted by `unlabelled_weight` (its bound and its entropy;
  1: Kingma's objective; less while q(y|x) is still learning, `config.loss.unlabelled_ramp_steps`).
  The beta_h term (`ADVERSARIAL_TERMS`) takes q's weights as constants: it trains the encoder, not
  q(y|x). With every label observed the terms and the bound ("bound", and each term) are
  `vae_loss`'s, bit for bit.

  Args:
    spec, betas: as `vae_loss`. alpha: the classification weight.
    terms: `example_terms` at the observed labels (missing ones 0), each [B].
    combo_terms: `example_terms` at each combination, each [B, C].
    combos: [C, k] `label_combinations`. y_logits: [B, k] q(y|x).
    y: [B, k] labels, missing ones 0. y_mask: [B, k], 1 observed.
    unlabelled_weight: scalar in [0, 1], the weight of the examples with a missing label.

  Returns:
    (scalar loss, {each term's batch mean, "bound", "label_entropy", "label_ce", "label_acc"}).
  """
  exclusive = spec.exclusive_labels
  weights = jax.vmap(lambda *a: combination_weights(*a, combos, exclusive))(y_logits, y, y_mask)
  full = jnp.all(y_mask > 0.5, axis=-1)
  weights_missing = unlabelled_weight * weights  # [B, C]
  metrics = {name: jnp.mean(jnp.where(full, value, jnp.sum(weights_missing * combo_terms[name],
                                                           axis=-1)))
             for name, value in terms.items()}
  bound = _weighted_sum(betas, metrics)
  # The adversarial terms regularise the encoder and are no part of the bound: q(y|x) must not
  # learn from them (CondVAE-info's would push it towards the labels r(y|z) finds least likely).
  # A term of value 0 whose gradient through q's weights cancels theirs (the metrics above, hence
  # the supervised objective's bits when every label is observed, untouched).
  moving = weights_missing - jax.lax.stop_gradient(weights_missing)  # 0, with their gradient
  cancel = sum(betas["beta_h"] * jnp.mean(jnp.where(full, 0.0, jnp.sum(
      moving * combo_terms[name], axis=-1))) for name in ADVERSARIAL_TERMS if name in terms)
  entropy = unlabelled_weight * jax.vmap(lambda *a: missing_entropy(*a, exclusive))(y_logits,
                                                                                    y_mask)
  label_ce, label_acc = _label_figures(exclusive, y_logits, y, y_mask)
  loss = bound - jnp.mean(entropy) + alpha * label_ce - cancel
  return loss, {**metrics, "bound": bound, "label_entropy": jnp.mean(entropy),
                "label_ce": label_ce, "label_acc": label_acc}


def likeliest_label_loss(spec: models.ModelSpec, betas: dict[str, float], alpha: float,
                         terms: dict[str, jax.Array], y_logits: jax.Array, y: jax.Array,
                         y_mask: jax.Array, unlabelled_weight: jax.Array | float = 1.0,
                         confidence: float = 0.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The objective with missing labels at q(y|x)'s likeliest values (`ModelSpec.missing_labels`
  "likeliest"), averaged over the batch:

    every example:  L(x, y_filled) + alpha * CE

  y_filled holds the observed labels and `models.likeliest_labels` for the missing ones, a
  constant: one decoder pass per example whatever k, and q(y|x) learns from CE alone (self-
  training, where Kingma's expectation of `semi_supervised_loss` also teaches it through the
  bound). An example with a missing label enters the batch mean weighted by `unlabelled_weight`,
  and only where q(y|x) gives each of its filled labels a probability >= `confidence` (the
  likeliest class's, for exclusive labels; 0 admits every example): the paper's pseudo-label
  threshold, applied as the model learns. With every label observed the terms and the bound are
  `vae_loss`'s (to float rounding in the step: its w-encoder meets the labels as filled in there,
  and XLA may order their sums otherwise).

  Args:
    spec, betas: as `vae_loss`. alpha: the classification weight.
    terms: `example_terms` at y_filled, each [B]. y_logits: [B, k] q(y|x).
    y: [B, k] labels, missing ones 0. y_mask: [B, k], 1 observed.
    unlabelled_weight: scalar in [0, 1], the weight of the examples with a missing label.
    confidence: in [0, 1), q(y|x)'s probability a filled label needs for its example to count.

  Returns:
    (scalar loss, {each term's batch mean, "bound", "label_ce", "label_acc", "admitted": the
     share of the examples with a missing label that count (0 where there are none)}).
  """
  full = jnp.all(y_mask > 0.5, axis=-1)
  if spec.exclusive_labels:
    sure = jnp.max(jax.nn.softmax(y_logits), axis=-1) >= confidence  # [B]
  else:  # each missing label's likelier value: probability sigmoid(|logit|)
    sure = jnp.all((y_mask > 0.5) | (jax.nn.sigmoid(jnp.abs(y_logits)) >= confidence), axis=-1)
  weight = jnp.where(sure, unlabelled_weight, 0.0)
  metrics = {name: jnp.mean(jnp.where(full, value, weight * value))
             for name, value in terms.items()}
  bound = _weighted_sum(betas, metrics)
  label_ce, label_acc = _label_figures(spec.exclusive_labels, y_logits, y, y_mask)
  return bound + alpha * label_ce, {**metrics, "bound": bound, "label_ce": label_ce,
                                    "label_acc": label_acc,
                                    "admitted": masked_mean(sure.astype(jnp.float32),
                                                            (~full).astype(jnp.float32))}


def _label_figures(exclusive: bool, y_logits: jax.Array, y: jax.Array, y_mask: jax.Array
                   ) -> tuple[jax.Array, jax.Array]:
  """q(y|x) on the observed labels: (CE averaged over the examples with an observed label, the
  accuracy over the observed labels); y_logits, y, y_mask [B, k]."""
  ce = jax.vmap(lambda *a: observed_cross_entropy(*a, exclusive))(y_logits, y, y_mask)
  if exclusive:
    observed = 1.0 - _missing_example(y_mask).astype(jnp.float32)  # [B]
    label_acc = masked_mean(jnp.argmax(y_logits, -1) == jnp.argmax(y, -1), observed)
  else:
    observed = jnp.any(y_mask > 0.5, axis=-1).astype(jnp.float32)
    label_acc = masked_mean((y_logits > 0) == (y > 0.5), y_mask)
  return jnp.sum(ce) / jnp.maximum(jnp.sum(observed), 1.0), label_acc


def adversary_loss(logits: jax.Array, y: jax.Array, y_mask: Optional[jax.Array] = None
                   ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """N: the adversary's cross-entropy on z, batch mean; logits, y [B, k]. Also its accuracy.

  With `y_mask` [B, k] (missing labels) only the observed labels count: the cross-entropy summed
  over them, averaged over the examples that have one, and the accuracy over them.
  """
  if y_mask is None:
    n = jnp.mean(jax.vmap(cross_entropy)(logits, y))
    accuracy = jnp.mean((logits > 0) == (y > 0.5))
    return n, {"n": n, "adv_acc": accuracy}
  ce = jnp.sum(y_mask * optax.sigmoid_binary_cross_entropy(logits, y))
  n = ce / jnp.maximum(jnp.sum(jnp.any(y_mask > 0.5, axis=-1)), 1.0)
  accuracy = masked_mean((logits > 0) == (y > 0.5), y_mask)
  return n, {"n": n, "adv_acc": accuracy}
