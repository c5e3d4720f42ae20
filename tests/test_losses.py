"""Losses against closed forms and values computed independently (numpy, scipy, Monte Carlo)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from csvae_jax import losses
from csvae_jax import models

RNG = np.random.default_rng(0)


def test_kl_of_equal_gaussians_is_zero():
  mu, logvar = RNG.normal(size=5), RNG.normal(size=5)
  np.testing.assert_allclose(losses.gaussian_kl(mu, logvar, mu, logvar), 0.0, atol=1e-6)


def test_kl_matches_monte_carlo():
  mu_q, logvar_q = np.array([0.3, -1.0]), np.array([-0.5, 0.4])
  mu_p, logvar_p = np.array([3.0, 3.0]), np.log(np.array([1.0, 1.0]))
  samples = RNG.normal(mu_q, np.exp(0.5 * logvar_q), size=(400_000, 2))
  log_q = stats.norm.logpdf(samples, mu_q, np.exp(0.5 * logvar_q)).sum(1)
  log_p = stats.norm.logpdf(samples, mu_p, np.exp(0.5 * logvar_p)).sum(1)
  np.testing.assert_allclose(losses.gaussian_kl(mu_q, logvar_q, mu_p, logvar_p),
                             np.mean(log_q - log_p), rtol=1e-2)


def test_kl_to_standard_normal_default_prior():
  mu, logvar = np.array([1.0, 0.0]), np.array([0.0, np.log(4.0)])
  # 0.5 * (mu^2) + 0.5 * (4 - 1 - log 4), by hand.
  np.testing.assert_allclose(losses.gaussian_kl(mu, logvar), 0.5 + 0.5 * (3 - np.log(4.0)),
                             rtol=1e-6)


def test_gaussian_log_likelihood_matches_scipy():
  x, mu, logvar = RNG.normal(size=3), RNG.normal(size=3), RNG.normal(size=3)
  expected = stats.norm.logpdf(x, mu, np.exp(0.5 * logvar)).sum()
  np.testing.assert_allclose(losses.gaussian_log_likelihood(x, mu, logvar), expected, rtol=1e-5)


def test_bernoulli_log_likelihood_matches_numpy():
  x, logits = RNG.uniform(size=6), RNG.normal(size=6)
  p = 1 / (1 + np.exp(-logits))
  expected = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
  np.testing.assert_allclose(losses.bernoulli_log_likelihood(x, logits), expected, rtol=1e-5)


def test_negative_entropy_bounds_and_values():
  np.testing.assert_allclose(losses.negative_entropy(jnp.zeros(3)), -3 * np.log(2), rtol=1e-6)
  assert float(losses.negative_entropy(jnp.array([30.0, -30.0]))) > -1e-10
  logits = RNG.normal(size=4)
  q = 1 / (1 + np.exp(-logits))
  np.testing.assert_allclose(losses.negative_entropy(logits),
                             np.sum(q * np.log(q) + (1 - q) * np.log(1 - q)), rtol=1e-5)


def test_cross_entropy_matches_numpy():
  logits, y = RNG.normal(size=3), np.array([1.0, 0.0, 1.0])
  p = 1 / (1 + np.exp(-logits))
  np.testing.assert_allclose(losses.cross_entropy(logits, y),
                             -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-5)


def _output(spec, batch):
  rng = jax.random.key(0)
  model = models.LatentModel(spec)
  x, y = jnp.ones((batch, *spec.x_shape)), jnp.ones((batch, spec.num_labels))
  params = model.init(rng, x, y, rng)
  return model.apply(params, x, y, rng), x, y


@pytest.mark.parametrize("kind,terms", [
    ("vae", {"recon", "kl_z"}), ("condvae", {"recon", "kl_z"}),
    ("condvae_info", {"recon", "kl_z", "neg_adv_ce"}), ("csvae", {"recon", "kl_z", "kl_w", "m2"})])
def test_vae_loss_is_the_weighted_sum_of_its_terms(kind, terms):
  spec = models.ModelSpec(kind=kind, x_shape=(3,), num_labels=2)
  out, x, y = _output(spec, batch=4)
  logits = jnp.array(RNG.normal(size=(4, 2)), jnp.float32) if spec.has_adversary else None
  betas = {"beta_x": 2.0, "beta_z": 3.0, "beta_w": 5.0, "beta_h": 7.0}
  loss, metrics = losses.vae_loss(spec, betas, out, x, y, logits)
  assert set(metrics) == terms
  weight = {"recon": 2.0, "kl_z": 3.0, "kl_w": 5.0, "m2": 7.0, "neg_adv_ce": 7.0}
  np.testing.assert_allclose(loss, sum(weight[k] * v for k, v in metrics.items()), rtol=1e-6)
  if kind == "csvae":  # KL_w is taken against the "present" prior N(3, 1) for y = 1.
    expected = np.mean([losses.gaussian_kl(m, lv, 3.0, 0.0) for m, lv in zip(out.w_mu, out.w_logvar)])
    np.testing.assert_allclose(metrics["kl_w"], expected, rtol=1e-5)


def test_adversary_loss_and_accuracy():
  logits = jnp.array([[2.0], [-1.0], [3.0], [-2.0]])
  y = jnp.array([[1.0], [1.0], [1.0], [0.0]])
  n, metrics = losses.adversary_loss(logits, y)
  np.testing.assert_allclose(metrics["adv_acc"], 0.75)
  expected = np.mean([losses.cross_entropy(l, t) for l, t in zip(logits, y)])
  np.testing.assert_allclose(n, expected, rtol=1e-6)
