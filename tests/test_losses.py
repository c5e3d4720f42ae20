"""Losses against closed forms and values computed independently (numpy, scipy, Monte Carlo)."""

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
  np.testing.assert_allclose(losses.bernoulli_log_likelihood(
      x.astype(np.float32), logits.astype(np.float32)), expected, rtol=1e-5)


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
  np.testing.assert_allclose(losses.cross_entropy(logits.astype(np.float32), y.astype(np.float32)),
                             -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-5)


def _sigmoid(logits):
  return 1.0 / (1.0 + np.exp(-logits))


def _expected_vae_loss(kind, likelihood, betas, out, x, y, logits):
  """The encoder/decoder objective written out with numpy, example by example and label by label."""
  total = []
  for b in range(len(x)):
    if likelihood == "bernoulli":
      p = _sigmoid(out["x_mu"][b])
      recon = -np.sum(x[b] * np.log(p) + (1 - x[b]) * np.log(1 - p))
    else:
      recon = -np.sum(stats.norm.logpdf(x[b], out["x_mu"][b], np.exp(0.5 * out["x_logvar"][b])))
    s_z = np.exp(0.5 * out["z_logvar"][b])  # KL(N(m, s^2) || N(0, 1)) per dimension
    loss = betas["beta_x"] * recon + betas["beta_z"] * np.sum(
        -np.log(s_z) + (s_z**2 + out["z_mu"][b] ** 2) / 2 - 0.5)
    if kind == "csvae":  # each label's block of W against N(3, 1) if present, N(0, 0.1^2) if not
      w_mu, s_w = out["w_mu"][b].reshape(2, 2), np.exp(0.5 * out["w_logvar"][b]).reshape(2, 2)
      for j in range(2):
        m_p, s_p = (3.0, 1.0) if y[b, j] == 1 else (0.0, 0.1)
        loss += betas["beta_w"] * np.sum(
            np.log(s_p / s_w[j]) + (s_w[j] ** 2 + (w_mu[j] - m_p) ** 2) / (2 * s_p**2) - 0.5)
    q = _sigmoid(logits[b]) if logits is not None else None
    if kind == "csvae":  # M2: minus the entropy of q_delta(y|z), minimised by the encoder
      loss += betas["beta_h"] * np.sum(q * np.log(q) + (1 - q) * np.log(1 - q))
    elif kind == "condvae_info":  # eq. 3: the encoder maximises the adversary's cross-entropy
      loss -= betas["beta_h"] * -np.sum(y[b] * np.log(q) + (1 - y[b]) * np.log(1 - q))
    total.append(loss)
  return np.mean(total)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("kind,terms", [
    ("vae", {"recon", "kl_z"}), ("condvae", {"recon", "kl_z"}),
    ("condvae_info", {"recon", "kl_z", "neg_adv_ce"}), ("csvae", {"recon", "kl_z", "kl_w", "m2"})])
def test_vae_loss_matches_an_independent_computation(kind, terms, likelihood):
  """The whole objective, signs and W priors included, against numpy on random model outputs."""
  spec = models.ModelSpec(kind=kind, x_shape=(3,), num_labels=2, likelihood=likelihood)
  batch = 5
  x = RNG.uniform(0.05, 0.95, size=(batch, 3)).astype(np.float32)
  y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], np.float32)
  arrays = {"x_mu": (batch, 3), "x_logvar": (batch, 3), "z_mu": (batch, 2), "z_logvar": (batch, 2),
            "z": (batch, 2)}
  if spec.has_w:
    arrays.update(w_mu=(batch, 4), w_logvar=(batch, 4), w=(batch, 4))
  out = {name: RNG.normal(size=shape).astype(np.float32) for name, shape in arrays.items()}
  out["w_mu"] = out["w_mu"] + 1.5 if spec.has_w else None
  logits = RNG.normal(size=(batch, 2)).astype(np.float32) if spec.has_adversary else None
  betas = {"beta_x": 2.0, "beta_z": 3.0, "beta_w": 5.0, "beta_h": 7.0}
  loss, metrics = losses.vae_loss(spec, betas, models.ModelOutput(**out), x, y, logits)
  assert set(metrics) == terms
  np.testing.assert_allclose(loss, _expected_vae_loss(kind, likelihood, betas, out, x, y, logits),
                             rtol=1e-5)


def test_adversary_loss_and_accuracy():
  logits = jnp.array([[2.0], [-1.0], [3.0], [-2.0]])
  y = jnp.array([[1.0], [1.0], [1.0], [0.0]])
  n, metrics = losses.adversary_loss(logits, y)
  np.testing.assert_allclose(metrics["adv_acc"], 0.75)
  l, t = np.asarray(logits), np.asarray(y)
  expected = np.mean(t * np.log1p(np.exp(-l)) + (1 - t) * np.log1p(np.exp(l)))  # -log sigmoid
  np.testing.assert_allclose(n, expected, rtol=1e-6)


def test_adversary_loss_counts_only_the_observed_labels():
  """Three examples, two labels: one with both observed, one with the first, one with none."""
  logits = np.array([[2.0, -1.0], [-0.5, 3.0], [1.0, 1.0]], np.float32)
  y = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]], np.float32)
  mask = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]], np.float32)
  n, metrics = losses.adversary_loss(jnp.asarray(logits), jnp.asarray(y), jnp.asarray(mask))
  bce = np.log1p(np.exp(-logits)) * y + np.log1p(np.exp(logits)) * (1 - y)  # -log sigmoid(+-l)
  # Summed over the three observed labels, averaged over the two examples that have one.
  np.testing.assert_allclose(n, (bce[0, 0] + bce[0, 1] + bce[1, 0]) / 2, rtol=1e-6)
  np.testing.assert_allclose(metrics["adv_acc"], 1 / 3)  # right: (0, 0); wrong: (0, 1), (1, 0)
  # Every label observed: the unmasked batch mean.
  np.testing.assert_allclose(losses.adversary_loss(logits, y, np.ones_like(y))[0],
                             np.mean(bce.sum(-1)), rtol=1e-6)
