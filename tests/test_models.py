"""Shapes, finiteness and units of the four models."""

import dataclasses
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from csvae_jax import losses
from csvae_jax import models


@pytest.mark.parametrize("kind", models.KINDS)
def test_output_shapes_and_finiteness(kind):
  spec = models.ModelSpec(kind=kind, x_shape=(3,), num_labels=2, z_dim=4, w_dim=3)
  model = models.LatentModel(spec)
  rng = jax.random.key(0)
  x, y = jax.random.normal(rng, (5, 3)), jnp.array([[0, 1]] * 5, jnp.float32)
  noise = models.draw_noise(spec, rng, 5)
  params = models.jit_init(model.init)(rng, x, y, noise)
  out = jax.jit(model.apply)(params, x, y, noise)
  chex.assert_shape([out.x_mu, out.x_logvar], (5, 3))
  chex.assert_shape([out.z_mu, out.z_logvar, out.z], (5, 4))
  if kind == "csvae":
    chex.assert_shape([out.w_mu, out.w_logvar, out.w], (5, 6))
  else:
    assert out.w is None and "encoder_w" not in params["params"]
  chex.assert_tree_all_finite(out)


@pytest.mark.parametrize("fields,message", [
    ({"kind": "csave"}, "Unknown model kind 'csave'; valid kinds: vae, condvae"),
    ({"likelihood": "poisson"}, "Unknown likelihood 'poisson'; valid: gaussian, gaussian_fixed"),
    ({"compute_dtype": "float16"}, "Unknown compute_dtype 'float16'; valid: float32, bfloat16"),
    ({"likelihood": "bernoulli", "x_mean": (0.5,) * 3, "x_std": (0.2,) * 3},
     r"A bernoulli likelihood needs data in \[0, 1\]: leave x_mean and x_std empty"),
    ({"x_shape": (4, 4)}, r"x_shape \(4, 4\) is neither a vector \(D,\) nor an image"),
    ({"kind": "vae", "infer_labels": True}, "A VAE takes no labels"),
    ({"adversary_labels": "inferred"}, "adversary_labels='inferred': valid are observed, inferred, "
                                       "and 'inferred' needs config.model.infer_labels=True"),
    ({"adversary_labels": "guessed", "infer_labels": True}, "adversary_labels='guessed': valid"),
    ({"missing_labels": "likeliest"}, "missing_labels='likeliest': valid are expectation, "
                                      "likeliest, and 'likeliest' needs"),
    ({"missing_labels": "sampled", "infer_labels": True}, "missing_labels='sampled': valid")])
def test_a_spec_that_cannot_be_built_names_the_problem_and_the_valid_values(fields, message):
  with pytest.raises(ValueError, match=message):
    models.ModelSpec(**{"kind": "csvae", "x_shape": (3,), "num_labels": 1, **fields})


def test_the_valid_neighbours_of_refused_specs_build():
  models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=1, likelihood="bernoulli")
  models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=1, infer_labels=True,
                   adversary_labels="inferred", missing_labels="likeliest")
  # 9 exclusive labels take 9 decoder passes, not 2^9: the cap on enumerated labels is not theirs.
  models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=9, infer_labels=True,
                   exclusive_labels=True)


def test_condvae_encoder_sees_y_and_the_condvae_decoders_see_y():
  x, z = jnp.ones((1, 3)), jnp.ones((1, 2))
  for kind, encodes_y, decodes_y in (("condvae", True, True), ("condvae_info", False, True),
                                     ("vae", False, False), ("csvae", False, False)):
    spec = models.ModelSpec(kind=kind, x_shape=(3,), num_labels=1)
    model = models.LatentModel(spec)
    params = models.jit_init(model.init)(jax.random.key(0), x, jnp.zeros((1, 1)),
                                         models.draw_noise(spec, jax.random.key(1), 1))
    enc = lambda y: model.apply(params, x, y, method=models.LatentModel.encode)["z_mu"]
    assert (not np.allclose(enc(jnp.zeros((1, 1))), enc(jnp.ones((1, 1))))) == encodes_y
    w = jnp.ones((1, 2)) if spec.has_w else None
    dec = lambda y: model.apply(params, z, w, y, method=models.LatentModel.decode)[0]
    assert (not np.allclose(dec(jnp.zeros((1, 1))), dec(jnp.ones((1, 1))))) == decodes_y, kind


def test_likeliest_labels_are_one_class_for_exclusive_labels_and_each_sign_otherwise():
  logits = jnp.array([[-1.0, -2.0, -3.0], [0.3, 3.0, -1.0]])
  def likeliest(exclusive):
    spec = models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=3, exclusive_labels=exclusive)
    return models.likeliest_labels(spec, logits).tolist()
  assert likeliest(True) == [[1, 0, 0], [0, 1, 0]]  # the likeliest class, though every logit < 0
  assert likeliest(False) == [[0, 0, 0], [1, 1, 0]]  # each label where p(y_j = 1 | x) > 1/2


def test_decoder_returns_data_units():
  """With standardisation the decoder's mean and log-variance come back in the data's units."""
  base = dict(kind="vae", x_shape=(2,), num_labels=1)
  scaled = models.ModelSpec(**base, x_mean=(10.0, -5.0), x_std=(2.0, 4.0))
  plain = models.ModelSpec(**base)
  z = jnp.array([[0.3, -0.2]])
  params = models.LatentModel(plain).init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros((1, 1)),
                                          models.draw_noise(plain, jax.random.key(1), 1))
  decode = lambda spec: models.LatentModel(spec).apply(params, z, method=models.LatentModel.decode)
  (mu, logvar), (mu0, logvar0) = decode(scaled), decode(plain)
  np.testing.assert_allclose(mu, np.asarray(mu0) * [2.0, 4.0] + [10.0, -5.0], rtol=1e-6)
  np.testing.assert_allclose(logvar, np.asarray(logvar0) + 2 * np.log([2.0, 4.0]), rtol=1e-6)


@pytest.mark.parametrize("method", ["encode", "classify"])
def test_the_encoders_and_q_y_see_standardised_data(method):
  """The encoders and q(y|x) of a model with standardisation read x = mean + std * u as a model
  without reads u."""
  base = dict(kind="csvae", x_shape=(2,), num_labels=1, infer_labels=True)
  scaled = models.ModelSpec(**base, x_mean=(10.0, -5.0), x_std=(2.0, 4.0))
  plain = models.ModelSpec(**base)
  u, y = jnp.array([[0.3, -0.2], [1.5, 0.7]]), jnp.array([[1.0], [0.0]])
  params = models.LatentModel(plain).init(jax.random.key(0), u, y,
                                          models.draw_noise(plain, jax.random.key(1), 2))
  run = lambda spec, x: models.LatentModel(spec).apply(
      params, x, *([y] if method == "encode" else []), method=getattr(models.LatentModel, method))
  chex.assert_trees_all_close(run(scaled, u * jnp.array([[2.0, 4.0]]) + jnp.array([[10.0, -5.0]])),
                              run(plain, u), rtol=1e-5, atol=1e-6)


def test_gaussian_fixed_decodes_with_the_configured_std_in_data_units():
  """likelihood "gaussian_fixed": the decoder's sd is x_fixed_std in standardised units, so
  x_fixed_std * x_std in the data's."""
  spec = models.ModelSpec(kind="vae", x_shape=(2,), num_labels=1, likelihood="gaussian_fixed",
                          x_fixed_std=0.25, x_mean=(1.0, 2.0), x_std=(2.0, 4.0))
  model = models.LatentModel(spec)
  params = model.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros((1, 1)),
                      models.draw_noise(spec, jax.random.key(1), 1))
  _, logvar = model.apply(params, jnp.zeros((3, 2)), method=models.LatentModel.decode)
  np.testing.assert_allclose(np.exp(0.5 * np.asarray(logvar)), [[0.5, 1.0]] * 3, rtol=1e-6)


def test_w_prior_per_label_value():
  spec = models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=2, w_dim=2)
  mean, logvar = models.w_prior(spec, jnp.array([[1.0, 0.0]]))
  np.testing.assert_allclose(mean, [[3.0, 3.0, 0.0, 0.0]])
  np.testing.assert_allclose(np.exp(0.5 * logvar), [[1.0, 1.0, 0.1, 0.1]], rtol=1e-6)
  moved = dataclasses.replace(spec, w_present_mean=-2.0, w_present_scale=0.5, w_absent_mean=1.5,
                              w_absent_scale=2.0)
  mean, logvar = models.w_prior(moved, jnp.array([[0.0, 1.0]]))
  np.testing.assert_allclose(mean, [[1.5, 1.5, -2.0, -2.0]])
  np.testing.assert_allclose(np.exp(0.5 * logvar), [[2.0, 2.0, 0.5, 0.5]], rtol=1e-6)


def _init_and_apply(spec, rng, x, y, compiled_init=True):
  """The model's parameters and its forward pass on (x, y); the init compiled whole as the
  trainer's (`models.jit_init`), or traced as it is where the caller transforms this function."""
  model = models.LatentModel(spec)
  noise = models.draw_noise(spec, rng, len(x))
  params = (models.jit_init(model.init) if compiled_init else model.init)(rng, x, y, noise)
  return params, jax.jit(model.apply)(params, x, y, noise)


@pytest.mark.parametrize("kind", models.KINDS)
@pytest.mark.parametrize("x_shape", [(64, 64, 3), (48, 48, 1), (22, 30, 1)])
def test_image_models_decode_to_the_input_shape(kind, x_shape):
  """Shapes by abstract evaluation (nothing compiled); values computed for the odd-sized faces."""
  spec = models.ModelSpec(kind=kind, x_shape=x_shape, num_labels=2, hidden=(),
                          conv_channels=(8, 16), likelihood="bernoulli")
  rng = jax.random.key(0)
  x = jax.random.uniform(rng, (2, *x_shape))
  y = jnp.array([[1.0, 0.0], [0.0, 1.0]])
  computed = x_shape == (22, 30, 1)  # not a multiple of 4: decoded larger, then cropped
  run = functools.partial(_init_and_apply, spec)
  params, out = (run(rng, x, y) if computed
                 else jax.eval_shape(functools.partial(run, compiled_init=False), rng, x, y))
  chex.assert_shape([out.x_mu, out.x_logvar], (2, *x_shape))
  chex.assert_shape(out.z, (2, 2))
  if computed:
    chex.assert_tree_all_finite(out)
  assert "ConvTrunk_0" in params["params"]["encoder_z"]


@pytest.mark.parametrize("x_shape,hidden", [((3,), (64, 64)), ((32, 32, 3), ())])
def test_bfloat16_compute_is_close_to_float32(x_shape, hidden):
  f32 = models.ModelSpec(kind="csvae", x_shape=x_shape, num_labels=2, hidden=hidden,
                         conv_channels=(8, 16))
  bf16 = dataclasses.replace(f32, compute_dtype="bfloat16")
  rng = jax.random.key(0)
  x = jax.random.uniform(rng, (4, *x_shape))
  y = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
  noise = models.draw_noise(f32, rng, 4)
  params, out32 = _init_and_apply(f32, rng, x, y)
  out16 = jax.jit(models.LatentModel(bf16).apply)(params, x, y, noise)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(out16))
  chex.assert_tree_all_finite(out16)
  for a, b in zip(jax.tree.leaves(out16), jax.tree.leaves(out32)):
    np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05)


def test_centred_w_posterior_is_offset_from_the_prior_of_the_given_labels():
  """With `w_prior_centred`, q(w|x,y) is the free encoder's output shifted by p(w|y)'s mean and
  log-variance (present N(3, 1), absent N(0, 0.1^2), per label), and KL_w is the one of that
  shifted posterior against the same prior (numpy, closed form)."""
  base = dict(kind="csvae", x_shape=(3,), num_labels=2, z_dim=2, w_dim=2)
  free = models.LatentModel(models.ModelSpec(**base))
  centred_spec = models.ModelSpec(**base, w_prior_centred=True)
  centred = models.LatentModel(centred_spec)
  x = jax.random.normal(jax.random.key(0), (4, 3))
  y = jnp.array([[1, 0], [0, 1], [1, 1], [0, 0]], jnp.float32)
  noise = models.draw_noise(centred_spec, jax.random.key(1), 4)
  params = models.jit_init(free.init)(jax.random.key(2), x, y, noise)
  got = centred.apply(params, x, y, method=models.LatentModel.encode)
  raw = free.apply(params, x, y, method=models.LatentModel.encode)
  prior_mean = np.repeat(np.asarray(y) * 3.0, 2, axis=1)               # [4, k * Dw]
  prior_std = np.repeat(np.where(np.asarray(y) == 1, 1.0, 0.1), 2, axis=1)
  np.testing.assert_allclose(got["w_mu"], raw["w_mu"] + prior_mean, atol=1e-6)
  np.testing.assert_allclose(got["w_logvar"], raw["w_logvar"] + 2 * np.log(prior_std), atol=1e-5)
  out = centred.apply(params, x, y, noise)
  var = np.exp(np.asarray(out.w_logvar, np.float64))
  kl = 0.5 * np.sum(np.log(prior_std**2 / var) + (var + (np.asarray(out.w_mu) - prior_mean)**2)
                    / prior_std**2 - 1.0, axis=1)
  _, terms = losses.vae_loss(centred_spec, {"beta_x": 1.0, "beta_z": 1.0, "beta_w": 1.0,
                                            "beta_h": 1.0}, out, x, y,
                             jnp.zeros((4, 2)))
  np.testing.assert_allclose(terms["kl_w"], kl.mean(), rtol=1e-4)


def test_mlp_is_relu_hidden_layers_then_a_linear_output():
  """`MLP` against numpy from its own params: Dense, ReLU per hidden layer, a linear last Dense."""
  mlp = models.MLP(hidden=(8, 8), out_dim=3)
  x = jax.random.normal(jax.random.key(0), (5, 4))
  params = jax.tree.map(np.asarray, mlp.init(jax.random.key(1), x)["params"])
  h = np.asarray(x)
  for name in ("Dense_0", "Dense_1"):
    h = np.maximum(h @ params[name]["kernel"] + params[name]["bias"], 0.0)
  want = h @ params["Dense_2"]["kernel"] + params["Dense_2"]["bias"]
  assert (want < 0).any()  # the output layer's sign is free: a ReLU there would show
  np.testing.assert_allclose(mlp.apply({"params": params}, x), want, rtol=1e-5, atol=1e-6)


def _image_model(kind="csvae", **fields):
  """A small model of 16x16 grey images (z [B, 3], w [B, 2 * 2]): (model, params, x [6, 16, 16, 1],
  y [6, 2])."""
  spec = models.ModelSpec(kind=kind, x_shape=(16, 16, 1), num_labels=2, z_dim=3, w_dim=2,
                          hidden=(16,), conv_channels=(4, 8), likelihood="bernoulli", **fields)
  x = jax.random.uniform(jax.random.key(0), (6, 16, 16, 1))
  y = jnp.array([[1.0, 0.0], [0.0, 1.0]] * 3)
  params = models.jit_init(models.LatentModel(spec).init)(
      jax.random.key(1), x, y, models.draw_noise(spec, jax.random.key(2), 6))
  return models.LatentModel(spec), params, x, y


def test_an_image_decoder_outputs_logits_of_both_signs():
  """A Bernoulli decoder's logits must go below 0 (pixels darker than 1/2): its last conv is linear."""
  model, params, _, _ = _image_model()
  z, w = jax.random.normal(jax.random.key(3), (6, 3)), jax.random.normal(jax.random.key(4), (6, 4))
  logits, _ = model.apply(params, z, w, method=models.LatentModel.decode)
  assert (logits < 0).mean() > 0.1 and (logits > 0).mean() > 0.1


def test_encoders_give_each_example_its_own_posterior_variance():
  """q(z|x) and q(w|x,y) output a log-variance per example, not a fixed one."""
  model, params, x, y = _image_model()
  post = model.apply(params, x, y, method=models.LatentModel.encode)
  for name in ("z_logvar", "w_logvar"):
    assert np.std(np.asarray(post[name]), axis=0).min() > 1e-4, name


def test_q_y_of_an_image_model_reads_the_image_through_its_own_conv_trunk():
  """q(y|x)'s network convolves the image (a trunk of its own: its loss moves no encoder)."""
  _, params, _, _ = _image_model(infer_labels=True)
  trunk = params["params"]["label_encoder"]["ConvTrunk_0"]
  assert [trunk[f"Conv_{i}"]["kernel"].shape for i in range(2)] == [(4, 4, 1, 4), (4, 4, 4, 8)]


def test_z_and_w_noise_are_independent_draws():
  """`draw_noise`: z's and w's standard normals come from split keys (same sizes, no correlation)."""
  spec = models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=2, z_dim=4, w_dim=2)
  noise = models.draw_noise(spec, jax.random.key(0), 2000)
  chex.assert_shape([noise["z"], noise["w"]], (2000, 4))
  corr = np.corrcoef(np.asarray(noise["z"]).ravel(), np.asarray(noise["w"]).ravel())[0, 1]
  assert abs(corr) < 0.05, corr


def test_reparametrize_draws_from_the_posterior_variance():
  """mu + sigma * eps with sigma = exp(logvar / 2): N(1, 4) at eps = (-1, 0, 1) is (-1, 1, 3)."""
  z = models.reparametrize(jnp.ones(3), jnp.full(3, jnp.log(4.0)), jnp.array([-1.0, 0.0, 1.0]))
  np.testing.assert_allclose(z, [-1.0, 1.0, 3.0], rtol=1e-6)


def test_an_image_decoder_mirrors_the_encoder():
  """The latents (w, z) [B, 4 + 3] pass the mirrored MLP to hidden[-1] = 16 features, then the conv
  decoder from 16 features up to the (8, 4, 1) channels of the image."""
  _, params, _, _ = _image_model()
  kernels = [a.shape for a in jax.tree.leaves(params["params"]["decoder"]) if a.ndim > 1]
  assert kernels == [(7, 16), (3, 3, 8, 4), (3, 3, 4, 1), (16, 128)], kernels


def test_the_csvae_decoder_reads_w_and_z():
  """p(x | w, z): moving either latent moves the decoded image."""
  model, params, _, _ = _image_model()
  z, w = jax.random.normal(jax.random.key(3), (6, 3)), jax.random.normal(jax.random.key(4), (6, 4))
  decode = lambda z, w: model.apply(params, z, w, method=models.LatentModel.decode)[0]
  assert not np.allclose(decode(z, w), decode(z, w + 1.0))
  assert not np.allclose(decode(z, w), decode(z + 1.0, w))
