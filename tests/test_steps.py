"""The jitted min-max step: traced once, each player updated by its own optimizer only, the
adversarial terms pushing the way the paper says, and training that does what the paper claims."""

import dataclasses
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from configs import tiny_images
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import losses
from csvae_jax import models
from csvae_jax import parallel
from csvae_jax import steps
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer
from csvae_jax.data import pipeline


def _setup(config, splits=None, label_names=("upper_half",)):
  """(spec, initial state, splits) for the swiss roll, or for `splits` given as arrays."""
  splits = splits or data_lib.load_dataset(config.data).splits
  train = splits["train"]
  spec = train_state_lib.model_spec(config, x_shape=(3,), num_labels=train["y"].shape[1],
                                    x_mean=train["x"].mean(0), x_std=train["x"].std(0),
                                    label_names=label_names)
  state = train_state_lib.init_train_state(jax.random.key(0), config, spec)
  return spec, state, splits


def test_every_model_field_of_the_config_reaches_the_spec_and_the_state(config):
  """Each `config.model` field, set away from `models.ModelSpec`'s default, is the spec's (a field
  `model_spec` dropped would build the default model without a word), and the state built from
  the spec has the configured adversary: z [3] -> 7 -> 5 -> k logits."""
  changed = {"kind": "csvae", "z_dim": 3, "w_dim": 4, "hidden": (16,), "conv_channels": (8,),
             "adversary_hidden": (7, 5), "likelihood": "gaussian_fixed", "x_fixed_std": 0.3,
             "w_present_mean": 2.0, "w_present_scale": 0.5, "w_absent_mean": -1.0,
             "w_absent_scale": 0.2, "w_prior_centred": True, "compute_dtype": "bfloat16",
             "infer_labels": True, "adversary_labels": "inferred", "missing_labels": "likeliest"}
  assert set(changed) == set(config.model)
  defaults = {f.name: f.default for f in dataclasses.fields(models.ModelSpec)}
  assert all(value != defaults[name] for name, value in changed.items() if name != "kind")
  config.model.update(changed)
  spec = train_state_lib.model_spec(config, x_shape=(3,), num_labels=2)
  assert {name: getattr(spec, name) for name in changed} == changed
  state = train_state_lib.init_train_state(jax.random.key(0), config, spec)
  kernels = [layer["kernel"].shape for _, layer in sorted(state.adversary.params["MLP_0"].items())]
  assert kernels == [(3, 7), (7, 5), (5, 2)]


def test_prepare_batch_scales_uint8_images_to_the_unit_interval_and_hides_missing_labels():
  x = np.array([[0, 51, 255]], np.uint8)
  y, y_mask = np.array([[1.0, 1.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])
  prepared = steps.prepare_batch({"x": x, "y": y, "y_mask": y_mask})
  np.testing.assert_allclose(prepared["x"], [[0.0, 0.2, 1.0]], rtol=1e-6)
  assert prepared["x"].dtype == jnp.float32
  np.testing.assert_array_equal(prepared["y"], [[1.0, 0.0, 0.0]])  # the unseen label reads 0
  np.testing.assert_array_equal(prepared["y_mask"], y_mask)
  floats = np.array([[0.5, -1.0, 2.0]], np.float32)  # swiss-roll points pass as they are
  assert set(steps.prepare_batch({"x": floats, "y": y})) == {"x", "y"}
  np.testing.assert_array_equal(steps.prepare_batch({"x": floats, "y": y})["x"], floats)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_reconstruction_mse_is_of_the_decoders_mean_in_data_units(likelihood):
  """The decoder's x_mu is the mean for a Gaussian and the logits of one for a Bernoulli: a
  decoder whose mean is the data exactly scores 0."""
  spec = models.ModelSpec(kind="vae", x_shape=(3,), num_labels=1, likelihood=likelihood)
  x = jnp.asarray([[0.1, 0.5, 0.9]])
  x_mu = jnp.log(x / (1 - x)) if likelihood == "bernoulli" else x
  np.testing.assert_allclose(steps._recon_mse(spec, x_mu, x), 0.0, atol=1e-12)
  np.testing.assert_allclose(steps._recon_mse(spec, x_mu, x + 0.1), 0.01, rtol=1e-5)


def test_w_prior_accuracy_asks_which_prior_gives_mu_w_the_higher_density():
  """Against scipy's Gaussian densities, on points around the boundary of the two priors
  (N(0, 0.1^2 I) and N(3, I) in each 2-D W_i), where the scales' normalisers decide some."""
  spec = models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=2)
  rng = np.random.default_rng(0)
  w_mu = 0.3 * rng.standard_normal((500, 2, 2)).astype(np.float32)
  y = (rng.uniform(size=(500, 2)) < 0.5).astype(np.float32)
  def density(mean, scale):
    return stats.multivariate_normal(np.full(2, mean), scale**2 * np.eye(2)).logpdf(w_mu)
  present = density(spec.w_present_mean, spec.w_present_scale) > density(
      spec.w_absent_mean, spec.w_absent_scale)
  expected = np.mean(present == (y > 0.5))
  assert 0.1 < np.mean(present) < 0.9
  accuracy = steps._w_prior_accuracy(spec, jnp.asarray(w_mu.reshape(500, 4)), jnp.asarray(y))
  np.testing.assert_allclose(accuracy, expected, rtol=1e-6)
  # Missing labels (y 0 where y_mask is 0, as the step sees them) are left out.
  y_mask = (rng.uniform(size=(500, 2)) < 0.3).astype(np.float32)
  masked = steps._w_prior_accuracy(spec, jnp.asarray(w_mu.reshape(500, 4)),
                                   jnp.asarray(y * y_mask), jnp.asarray(y_mask))
  observed = y_mask > 0.5
  np.testing.assert_allclose(masked, np.mean((present == (y > 0.5))[observed]), rtol=1e-6)


@pytest.mark.parametrize("kind", ["vae", "csvae"])
def test_train_step_is_traced_once(config, kind):
  chex.clear_trace_counter()  # The parametrized cases share one counter.
  config.model.kind = kind
  spec, state, splits = _setup(config)
  batch = {k: v[:64] for k, v in splits["train"].items()}
  betas = dict(config.loss)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, batch, rng):
    noise = steps.step_noise(spec, rng, state.step, 64)
    return steps.train_step(state, batch, noise, spec=spec, betas=betas)

  rng = jax.random.key(1)
  for _ in range(3):
    state, metrics = step(state, batch, rng)
  assert int(state.step) == 3
  chex.assert_tree_all_finite(metrics)
  if kind == "csvae":
    assert int(state.adversary.step) == 3
  else:
    assert state.adversary is None


def _tree_equal(a, b) -> bool:
  return all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b),
                                                  strict=True))


def _constant_rate(config, learning_rate=1e-3):
  """Both optimizers at a constant rate: the cosine schedule's warmup makes step 0 a no-op."""
  for player in ("vae", "adversary"):
    config.optim[player].schedule = "constant"
    config.optim[player].learning_rate = learning_rate


def _halves(config, kind, betas=None):
  """A state, one batch and jitted halves of the step, for a model of `kind`."""
  config.model.kind = kind
  _constant_rate(config)
  spec, state, splits = _setup(config)
  x, y = (jnp.asarray(splits["train"][k][:256]) for k in ("x", "y"))
  adversary_step = jax.jit(functools.partial(steps.adversary_step, spec=spec))
  vae_step = jax.jit(functools.partial(steps.vae_step, spec=spec,
                                       betas=betas or dict(config.loss)))
  return spec, state, x, y, adversary_step, vae_step


def _adversary_logits(spec, state, x, y, noise):
  """The adversary's logits on the z the step draws with `noise`: [B, k]."""
  out = models.LatentModel(spec).apply({"params": state.vae.params}, x, y, noise)
  return state.adversary.apply_fn({"params": state.adversary.params}, out.z)


@pytest.mark.parametrize("kind", ["condvae_info", "csvae"])
def test_each_half_of_the_step_updates_only_its_own_player(config, kind):
  spec, state, x, y, adversary_step, vae_step = _halves(config, kind)
  noise = models.draw_noise(spec, jax.random.key(3), len(x))

  after_adversary, _ = adversary_step(state, x, y, noise)
  assert _tree_equal(after_adversary.vae, state.vae)
  assert not _tree_equal(after_adversary.adversary.params, state.adversary.params)
  # ... and it learns: its cross-entropy on the same z falls.
  n_before = losses.adversary_loss(_adversary_logits(spec, state, x, y, noise), y)[0]
  n_after = losses.adversary_loss(_adversary_logits(spec, after_adversary, x, y, noise), y)[0]
  assert n_after < n_before

  after_vae, metrics = vae_step(state, x, y, noise)
  assert _tree_equal(after_vae.adversary, state.adversary)
  assert not _tree_equal(after_vae.vae.params, state.vae.params)
  _, metrics_after = vae_step(after_vae, x, y, noise)
  assert metrics_after["loss"] < metrics["loss"]
  if spec.has_w:  # the W probe reads the means mu_w: other noise, another loss, the same probe
    _, other = vae_step(state, x, y, models.draw_noise(spec, jax.random.key(4), len(x)))
    assert other["loss"] != metrics["loss"] and other["w_prior_acc"] == metrics["w_prior_acc"]


def test_adversary_trains_on_the_z_of_the_encoders_forward_pass(config):
  """One optax step on N at the z that the model's own forward pass draws with the step's noise."""
  spec, state, x, y, adversary_step, _ = _halves(config, "csvae")
  noise = models.draw_noise(spec, jax.random.key(7), len(x))
  z = models.LatentModel(spec).apply({"params": state.vae.params}, x, y, noise).z
  def n_loss(params):
    return losses.adversary_loss(state.adversary.apply_fn({"params": params}, z), y)[0]
  expected = state.adversary.apply_gradients(grads=jax.grad(n_loss)(state.adversary.params))
  after, _ = adversary_step(state, x, y, noise)
  chex.assert_trees_all_close(after.adversary.params, expected.params, atol=1e-6)


def test_step_runs_the_adversary_first_then_the_encoder_against_it(config):
  """The order, by its effects: the encoder/decoder's update depends on the adversary's learning
  rate (it plays against the updated adversary), and the adversary's update does not depend on
  the encoder/decoder's (it moved first, on the current encoder)."""
  config.model.kind = "csvae"
  spec, _, splits = _setup(config)
  batch = {k: jnp.asarray(v[:256]) for k, v in splits["train"].items()}
  noise = models.draw_noise(spec, jax.random.key(5), 256)
  def step(vae_rate, adversary_rate):
    for player, rate in (("vae", vae_rate), ("adversary", adversary_rate)):
      config.optim[player].schedule, config.optim[player].learning_rate = "constant", rate
    state = train_state_lib.init_train_state(jax.random.key(0), config, spec)
    step_fn = functools.partial(steps.train_step, spec=spec, betas=dict(config.loss))
    return jax.jit(step_fn)(state, batch, noise)[0]
  both, frozen_adversary, frozen_vae = step(1e-2, 1e-2), step(1e-2, 0.0), step(0.0, 1e-2)
  assert not _tree_equal(both.vae.params, frozen_adversary.vae.params)
  assert _tree_equal(both.adversary.params, frozen_vae.adversary.params)
  assert not _tree_equal(both.adversary.params, frozen_adversary.adversary.params)


def test_a_chunk_draws_the_noise_of_its_steps_one_by_one(config):
  """Two chunks of 3 steps (one `lax.scan` each, every step's noise drawn before it) equal 6
  single steps, each with its own `step_noise`: the noise depends on the step, not on the chunk."""
  config.model.kind = "csvae"
  spec, state, splits = _setup(config)
  batches = {k: jnp.asarray(v[:6 * 64]).reshape(6, 64, -1) for k, v in splits["train"].items()}
  loop_rng = jax.random.key(4)
  chunked = jax.tree.map(jnp.copy, state)  # The chunk donates its input state.
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  for start in (0, 3):
    chunked, _ = train_chunk(chunked, jax.tree.map(lambda a: a[start:start + 3], batches), loop_rng)
  @jax.jit
  def one_step(state, batch):
    noise = steps.step_noise(spec, loop_rng, state.step, 64)
    return steps.train_step(state, batch, noise, spec=spec, betas=dict(config.loss))[0]
  for i in range(6):
    state = one_step(state, jax.tree.map(lambda a: a[i], batches))
  assert int(chunked.step) == 6
  chex.assert_trees_all_close(chunked, state, atol=1e-6, rtol=1e-5)
  # Each step its own noise; the same step (a resumed run's) the same.
  noise = [steps.step_noise(spec, loop_rng, jnp.asarray(i), 64) for i in (0, 1, 1)]
  assert not np.allclose(noise[0]["z"], noise[1]["z"]) and not np.allclose(noise[0]["w"],
                                                                            noise[1]["w"])
  chex.assert_trees_all_equal(noise[1], noise[2])


def _tiny_images_csvae():
  """(config, spec, initial state) of a CSVAE of `configs/tiny_images.py`: 32x32 RGB, 2 labels."""
  config = tiny_images.get_config()
  config.model.kind = "csvae"
  spec = train_state_lib.model_spec(config, x_shape=(32, 32, 3), num_labels=2)
  return config, spec, train_state_lib.init_train_state(jax.random.key(0), config, spec)


def _flops(fn, *args) -> float:
  """XLA's FLOP count of `fn` compiled for `args`."""
  cost = jax.jit(fn).lower(*args).compile().cost_analysis()
  return (cost[0] if isinstance(cost, list) else cost)["flops"]


def test_the_compiled_step_runs_the_encoder_forward_once():
  """Both halves encode x, and XLA merges the two passes: the compiled step costs the encoder/
  decoder's half plus the adversary's update at a given z, not a second forward of q(z|x)."""
  config, spec, state = _tiny_images_csvae()
  x, y = jnp.ones((16, 32, 32, 3)), jnp.ones((16, 2))
  noise = models.draw_noise(spec, jax.random.key(1), 16)
  betas = dict(config.loss)
  z = jnp.ones((16, spec.z_dim))
  step = _flops(functools.partial(steps.train_step, spec=spec, betas=betas), state,
                {"x": x, "y": y}, noise)
  vae_half = _flops(functools.partial(steps.vae_step, spec=spec, betas=betas), state, x, y, noise)
  adversary_half = _flops(functools.partial(steps.adversary_step, spec=spec), state, x, y, noise)
  def adversary_at_z(state):
    def n_loss(params):
      return losses.adversary_loss(state.adversary.apply_fn({"params": params}, z), y)[0]
    return state.adversary.apply_gradients(grads=jax.grad(n_loss)(state.adversary.params))
  one_pass = vae_half + _flops(adversary_at_z, state)
  second_encoder_pass = vae_half + adversary_half - one_pass
  assert second_encoder_pass > 0.05 * step  # q(z|x)'s forward: a visible share of the step ...
  assert abs(step - one_pass) < 0.1 * second_encoder_pass  # ... that the step does not pay twice.


@pytest.mark.parametrize("kind", ["condvae_info", "csvae"])
def test_the_encoders_adversarial_term_confuses_the_adversary(config, kind):
  """Only the adversarial term on: one encoder step raises the adversary's entropy (CSVAE's M2)
  or its cross-entropy (CondVAE-info's eq. 3) on the same z."""
  betas = {"beta_x": 0.0, "beta_z": 0.0, "beta_w": 0.0, "beta_h": 1.0}
  spec, state, x, y, adversary_step, vae_step = _halves(config, kind, betas)
  noise = models.draw_noise(spec, jax.random.key(6), len(x))
  for _ in range(20):  # An adversary that has learned something, so the encoder has a target.
    state, _ = adversary_step(state, x, y, noise)
  def uncertainty(state):
    logits = _adversary_logits(spec, state, x, y, noise)
    if kind == "csvae":  # entropy = -M2
      return -jnp.mean(jax.vmap(losses.negative_entropy)(logits))
    return jnp.mean(jax.vmap(losses.cross_entropy)(logits, y))
  after, _ = vae_step(state, x, y, noise)
  assert uncertainty(after) > uncertainty(state) + 1e-4


def _train(config, num_steps, splits=None, label_names=("upper_half",)):
  """Trains in chunks of 100 steps; returns the spec, state, splits and each chunk's metrics."""
  spec, state, splits = _setup(config, splits, label_names)
  mesh = parallel.make_mesh()
  state = jax.device_put(state, parallel.replicated(mesh))  # as the trainer places it: one compile
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  chunks = pipeline.make_chunks(splits["train"], seed=1, batch_size=config.train.batch_size,
                                first_step=0, num_steps=num_steps, steps_per_chunk=100)
  history = []
  for chunk in chunks:
    state, metrics = train_chunk(state, parallel.shard_batch(chunk, mesh, leading_dims=1),
                                 jax.random.key(1))
    history.append(jax.device_get(metrics))
  return spec, state, splits, history


def _eval(spec, config, state, split):
  return jax.jit(functools.partial(steps.eval_step, spec=spec, betas=dict(config.loss)))(
      state, split, jax.random.key(2))


def test_eval_step_reads_uint8_images_as_the_unit_interval():
  """The evaluation of a batch of uint8 images (as the data pipeline holds them) is the one of
  the same images as floats in [0, 1]."""
  config, spec, state = _tiny_images_csvae()
  images = jax.random.randint(jax.random.key(1), (8, 32, 32, 3), 0, 256).astype(jnp.uint8)
  y = (jax.random.uniform(jax.random.key(2), (8, 2)) < 0.5).astype(jnp.float32)
  as_uint8 = _eval(spec, config, state, {"x": images, "y": y})
  as_floats = _eval(spec, config, state, {"x": images.astype(jnp.float32) / 255.0, "y": y})
  chex.assert_trees_all_close(as_uint8, as_floats, rtol=1e-5)


def _encode(spec, state, split):
  return jax.device_get(models.LatentModel(spec).apply(
      {"params": state.vae.params}, split["x"], split["y"], method=models.LatentModel.encode))


def test_adversary_learns_the_label_from_a_z_that_carries_it(config):
  """W held at one prior for both labels (so z must carry everything) and the encoder's
  adversarial term off: the adversary's accuracy on z climbs far above chance (0.51)."""
  config.loss.beta_h = 0.0
  config.model.w_present_mean, config.model.w_present_scale = 0.0, 0.1
  config.loss.beta_w = 100.0
  spec, state, splits, history = _train(config, 500)
  assert history[0]["adv_acc"] < 0.6 and history[-1]["adv_acc"] > 0.72
  evaluated = _eval(spec, config, state, splits["test"])
  assert evaluated["adv_acc"] > 0.75
  # Evaluation reads the posterior means: its key draws the loss's samples, not the accuracy's z.
  again = jax.jit(functools.partial(steps.eval_step, spec=spec, betas=dict(config.loss)))(
      state, splits["test"], jax.random.key(3))
  assert again["adv_acc"] == evaluated["adv_acc"] and again["loss"] != evaluated["loss"]


def test_csvae_learns_and_hides_the_label_from_z(config):
  spec, state, splits, history = _train(config, 2000)
  first, last = history[0], history[-1]
  for term in ("loss", "recon", "kl_w"):
    assert last[term] < first[term] - 0.5, (term, first[term], last[term])
  # The encoder keeps the adversary near chance (labels are ~52/48) and M2 near its minimum.
  assert last["adv_acc"] < 0.6 and last["m2"] < -0.65
  train, test = splits["train"], splits["test"]
  eval_metrics = _eval(spec, config, state, test)
  majority = max(test["y"].mean(), 1 - test["y"].mean())
  assert eval_metrics["adv_acc"] < majority + 0.08
  assert eval_metrics["w_prior_acc"] > 0.95
  assert eval_metrics["recon_mse"] < 0.05 * test["x"].var(0).mean()
  # The paper's claim: the label is in w, not in z (logistic probes on the posterior means).
  a, b = _encode(spec, state, train), _encode(spec, state, test)
  assert evaluate.probe_accuracy(a["z_mu"], train["y"][:, 0], b["z_mu"], test["y"][:, 0]) < 0.6
  assert evaluate.probe_accuracy(a["w_mu"], train["y"][:, 0], b["w_mu"], test["y"][:, 0]) > 0.95


def test_w_priors_pull_each_label_to_its_own_cluster(config):
  """k = 2 labels of the roll: each example's W_j sits at the present prior's mean (3, 3) when
  y_j = 1 and at the absent one's (0, 0) when y_j = 0, label by label."""
  rolls = data_lib.load_dataset(config.data).splits
  splits = {name: {"x": split["x"], "y": np.stack(
      [split["y"][:, 0], (split["x"][:, 0] > 0).astype(np.float32)], 1),
                     "y_mask": np.ones((len(split["x"]), 2), np.float32)}
            for name, split in rolls.items()}
  spec, state, splits, _ = _train(config, 500, splits, label_names=("upper_half", "right"))
  test = splits["test"]
  w = _encode(spec, state, test)["w_mu"].reshape(-1, 2, 2)
  for j in range(2):
    present = test["y"][:, j] == 1
    assert np.linalg.norm(w[present, j].mean(0) - 3.0) < 0.6, j
    assert np.linalg.norm(w[~present, j].mean(0)) < 0.1, j
  assert _eval(spec, config, state, test)["w_prior_acc"] > 0.95


def test_bfloat16_training_stays_finite_and_close_to_float32(config):
  config.train.batch_size = 256
  _, _, _, history32 = _train(config, 300)
  config.model.compute_dtype = "bfloat16"
  _, state, _, history16 = _train(config, 300)
  chex.assert_tree_all_finite(state)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.vae.params))
  for term in ("recon", "kl_z", "kl_w"):
    # Measured after 500 steps: 1e-5 (recon), 0.023 (KL_z) and 5e-5 (KL_w) of the first chunk's
    # value; after 300: 1.5e-5, 0.0021 and 1e-4.
    assert abs(history16[-1][term] - history32[-1][term]) < 0.05 * abs(history32[0][term]), term


def _updates(optim, gradients, num_steps=100):
  """The updates of one scalar parameter by `train_state.make_optimizer(optim, num_steps)` for
  `gradients`, in order."""
  tx = train_state_lib.make_optimizer(optim, num_steps)
  state, out = tx.init(jnp.zeros(())), []
  for gradient in gradients:
    update, state = tx.update(jnp.float32(gradient), state, jnp.zeros(()))
    out.append(float(update))
  return np.array(out)


def test_the_cosine_schedule_warms_up_then_decays_to_its_final_share(config):
  optim = config.optim.vae
  optim.learning_rate, optim.warmup_steps, optim.final_lr_factor = 0.1, 4, 0.01
  # Under a constant gradient Adam's update is minus the learning rate of its step.
  rates = -_updates(optim, np.ones(13), num_steps=12)
  np.testing.assert_allclose(rates[:5], [0, 0.025, 0.05, 0.075, 0.1], rtol=1e-4, atol=1e-9)
  assert np.all(np.diff(rates[4:]) < 0)
  np.testing.assert_allclose(rates[12], 0.001, rtol=1e-4)
  optim.schedule = "constant"
  np.testing.assert_allclose(-_updates(optim, np.ones(3)), 0.1, rtol=1e-4)
  optim.schedule = "linear"
  with pytest.raises(ValueError, match="Unknown schedule 'linear'; valid: 'constant', 'cosine'"):
    train_state_lib.make_optimizer(optim, 12)


def test_adam_takes_its_betas_and_clipping_from_the_config(config):
  optim = config.optim.vae
  optim.schedule, optim.learning_rate = "constant", 0.1
  # Without moments (b1 = b2 = 0) each update is -rate * sign(gradient), whatever its size.
  optim.b1, optim.b2 = 0.0, 0.0
  np.testing.assert_allclose(_updates(optim, [1.0, -1.0, 4.0]), [-0.1, 0.1, -0.1], rtol=1e-4)
  # With them (0.9, 0.999), a large first gradient damps the second update, unless clipping
  # (to global norm 1) makes both gradients 1.
  optim.b1, optim.b2 = 0.9, 0.999
  assert -_updates(optim, [100.0, 1.0])[1] < 0.07
  optim.grad_clip = 1.0
  np.testing.assert_allclose(_updates(optim, [100.0, 1.0]), [-0.1, -0.1], rtol=1e-4)
