"""Pure train and eval steps: functions of (state, batch, noise or rng); the trainer binds and jits
them."""

import functools
from typing import Optional

import jax
import jax.numpy as jnp

from csvae_jax import losses
from csvae_jax import models
from csvae_jax import train_state as train_state_lib

# {"x": [B, *x_shape] float32 (vectors) or uint8 (images, to [0, 1] by `prepare_batch`),
#  "y": [B, k] float32 in {0, 1}[, "y_mask": [B, k] float32, 1 = observed]}
Batch = dict[str, jax.Array]
Noise = dict[str, jax.Array]  # `models.draw_noise`: {"z": [B, Dz]} (+ {"w": [B, k*Dw]})
# A model that infers labels scores these over the observed labels of its batch alone.
OBSERVED_RATIOS = ("adv_acc", "w_prior_acc", "label_acc", "n", "label_ce")


def step_noise(spec: models.ModelSpec, loop_rng: jax.Array, step: jax.Array,
               batch_size: int) -> Noise:
  """The reparametrisation noise of training step `step`: a function of (loop key, step) only, so a
  resumed run draws the same noise, and a loop can draw many steps' noise at once (`jax.vmap`)."""
  return models.draw_noise(spec, jax.random.fold_in(loop_rng, step), batch_size)


def prepare_batch(batch: Batch) -> Batch:
  """uint8 images to float32 in [0, 1] (done on the device: a quarter of the transfer), and the
  missing labels (y_mask 0) set to 0, so that the model never sees a label it should not."""
  x = batch["x"]
  if x.dtype == jnp.uint8:
    x = x.astype(jnp.float32) / 255.0
  if "y_mask" not in batch:
    return {"x": x, "y": batch["y"]}
  return {"x": x, "y": batch["y"] * batch["y_mask"], "y_mask": batch["y_mask"]}


def _w_prior_accuracy(spec: models.ModelSpec, w_mu: jax.Array, y: jax.Array,
                      y_mask: Optional[jax.Array] = None) -> jax.Array:
  """A parameter-free probe on w: is mu_w^i likelier under p(w_i|y_i=1) than under p(w_i|y_i=0)?
  w_mu [B, k * Dw], y [B, k] -> [], over the observed labels where y_mask [B, k] is given."""
  w = w_mu.reshape(w_mu.shape[0], spec.num_labels, spec.w_dim)
  def sq_dist(mean, scale):
    return jnp.sum((w - mean) ** 2, axis=-1) / scale**2 + 2 * spec.w_dim * jnp.log(scale)
  present = sq_dist(spec.w_present_mean, spec.w_present_scale) < sq_dist(
      spec.w_absent_mean, spec.w_absent_scale)
  hits = present == (y > 0.5)
  if y_mask is None:
    return jnp.mean(hits)
  return losses.masked_mean(hits, y_mask)


def adversary_step(state: train_state_lib.TrainState, x: jax.Array, y: jax.Array, noise: Noise,
                   *, spec: models.ModelSpec, y_mask: Optional[jax.Array] = None
                   ) -> tuple[train_state_lib.TrainState, dict[str, jax.Array]]:
  """The adversary's half of the min-max step: one optax step on N, its cross-entropy of y given z.

  z is drawn from the current encoder with the noise the encoder/decoder's half uses for z, under
  stop_gradient: the encoder/decoder's params are left untouched.

  Args:
    state: both players. x: [B, *x_shape]. y: [B, k]. noise: the step's `models.draw_noise`.
    spec: the model's spec (static); its kind must have an adversary.
    y_mask: [B, k], 1 = observed, for a model that infers labels: N counts the observed labels
      only, or with `spec.adversary_labels` "inferred" every label, q(y|x)'s likeliest value
      standing for each missing one.

  Returns:
    (state with the adversary updated, {"n", "adv_acc"} on the batch before the update).
  """
  model = models.LatentModel(spec)
  post = model.apply({"params": state.vae.params}, x, y, method=models.LatentModel.encode)
  z = jax.lax.stop_gradient(models.reparametrize(post["z_mu"], post["z_logvar"], noise["z"]))
  adversary = state.adversary
  mask = y_mask if spec.infer_labels else None
  if mask is not None and spec.adversary_labels == "inferred":
    likeliest = models.likeliest_labels(spec, model.apply(
        {"params": state.vae.params}, x, method=models.LatentModel.classify))
    y, mask = mask * y + (1.0 - mask) * likeliest, None
  def n_loss(params):
    return losses.adversary_loss(adversary.apply_fn({"params": params}, z), y, mask)
  grads, metrics = jax.grad(n_loss, has_aux=True)(adversary.params)
  return state.replace(adversary=adversary.apply_gradients(grads=grads)), metrics


def vae_step(state: train_state_lib.TrainState, x: jax.Array, y: jax.Array, noise: Noise,
             *, spec: models.ModelSpec, betas: dict[str, float],
             y_mask: Optional[jax.Array] = None
             ) -> tuple[train_state_lib.TrainState, dict[str, jax.Array]]:
  """The encoder/decoder's half: one optax step on `losses.vae_loss` against the current adversary
  (`losses.semi_supervised_loss` for a model that infers labels, `losses.likeliest_label_loss`
  where its `spec.missing_labels` is "likeliest").

  The adversary's params enter the objective as constants and are left untouched.

  Args:
    state: both players. x: [B, *x_shape]. y: [B, k]. noise: the step's `models.draw_noise` (the
      reparametrisation noise). spec: the model's spec (static). betas: loss weights (static;
      "alpha" weighs q(y|x)'s classification loss, the examples with a missing label enter the
      bound weighted min(1, step / "unlabelled_ramp_steps"), 1 where that is 0; with "likeliest",
      only where q(y|x) is as sure as "label_confidence"). y_mask: [B, k], 1 = observed (models
      that infer labels; None: all observed).

  Returns:
    (state with the encoder/decoder updated, {loss terms, "loss", "recon_mse"[, "w_prior_acc"]
     [, "bound", "label_entropy", "label_ce", "label_acc"]}). recon_mse decodes at the given
     labels, missing ones 0 (q(y|x)'s likeliest with "likeliest", and no "label_entropy" but
     "admitted", `losses.likeliest_label_loss`); the loss terms are q(y|x)'s expectations over
     the missing ones (their values at the likeliest).
  """
  model = models.LatentModel(spec)
  adversary = state.adversary
  ramp = betas["unlabelled_ramp_steps"] if spec.infer_labels else 0
  unlabelled_weight = jnp.minimum(1.0, state.step / ramp) if ramp else 1.0

  def adversary_logits(z):
    return adversary.apply_fn({"params": adversary.params}, z) if adversary else None

  def objective(params):
    if not spec.infer_labels:
      out = model.apply({"params": params}, x, y, noise)
      loss, terms = losses.vae_loss(spec, betas, out, x, y, adversary_logits(out.z))
      return loss, (terms, out)
    # The encoders' trunks do not depend on y: their features are computed once.
    apply = functools.partial(model.apply, {"params": params})
    features = apply(x, method=models.LatentModel.features)
    y_logits = apply(x, method=models.LatentModel.classify)
    mask = jnp.ones_like(y) if y_mask is None else y_mask
    if spec.missing_labels == "likeliest":  # one pass, at the observed and the likeliest labels
      filled = mask * y + (1.0 - mask) * models.likeliest_labels(spec, y_logits)
      out = apply(features, filled, noise, method=models.LatentModel.sample_from_features)
      terms = losses.example_terms(spec, out, x, filled, adversary_logits(out.z))
      loss, terms = losses.likeliest_label_loss(spec, betas, betas["alpha"], terms, y_logits, y,
                                                mask, unlabelled_weight, betas["label_confidence"])
      return loss, (terms, out)
    # Every example at its given labels, and once per label combination (its copies side by
    # side, with the same noise) for the bound's expectation over q(y|x) of the missing labels.
    out = apply(features, y, noise, method=models.LatentModel.sample_from_features)
    combos = jnp.asarray(losses.label_combinations(spec.num_labels, spec.exclusive_labels))
    batch, count = x.shape[0], combos.shape[0]
    tile = lambda a: jnp.repeat(a, count, axis=0)
    y_combos = jnp.tile(combos, (batch, 1))
    out_combos = apply(jax.tree.map(tile, features), y_combos, jax.tree.map(tile, noise),
                       method=models.LatentModel.sample_from_features)
    combo_terms = losses.example_terms(spec, out_combos, tile(x), y_combos,
                                       adversary_logits(out_combos.z))
    loss, terms = losses.semi_supervised_loss(
        spec, betas, betas["alpha"], losses.example_terms(spec, out, x, y, adversary_logits(out.z)),
        {k: v.reshape(batch, count) for k, v in combo_terms.items()}, combos, y_logits, y, mask,
        unlabelled_weight)
    return loss, (terms, out)

  (loss, (terms, out)), grads = jax.value_and_grad(objective, has_aux=True)(state.vae.params)
  metrics = dict(terms, loss=loss, recon_mse=_recon_mse(spec, out.x_mu, x))
  if spec.has_w:
    metrics["w_prior_acc"] = _w_prior_accuracy(spec, out.w_mu, y, y_mask)
  return state.replace(vae=state.vae.apply_gradients(grads=grads)), metrics


def train_step(state: train_state_lib.TrainState, batch: Batch, noise: Noise, *,
               spec: models.ModelSpec, betas: dict[str, float]
               ) -> tuple[train_state_lib.TrainState, dict[str, jax.Array]]:
  """One step of the min-max game (paper 4.1; docs/design.md#the-step).

  1. `adversary_step`: the adversary takes a step on N, z drawn from the current encoder.
  2. `vae_step`: the encoder/decoder take a step on beta_x*recon + beta_z*KL_z + beta_w*KL_w +
     beta_h*h against the updated adversary (h = M2 for CSVAE, minus the adversary's
     cross-entropy for CondVAE-info), with the same reparametrisation noise, hence the same z.
  Kinds without an adversary skip step 1. The kind is static: it picks the code path at trace time.
  Both halves encode x with the same params, written apart so that each is a plain function; XLA
  merges the two forward passes into one (tests/test_steps.py checks the compiled FLOP count; an
  explicit single pass through `jax.vjp` measured 14% slower on the swiss roll).

  Args:
    state: both players' params and optimizer states.
    batch: {"x": [B, D], "y": [B, k][, "y_mask": [B, k]]}, prepared (`prepare_batch`).
    noise: the step's reparametrisation noise, `step_noise(spec, loop_rng, state.step, B)`.
    spec: the model's spec (static). betas: loss weights (static).

  Returns:
    (new state, {metric name: scalar}; with `spec.infer_labels` also "observed_labels", the
     batch's count of observed labels).
  """
  x, y, y_mask = batch["x"], batch["y"], batch.get("y_mask")
  metrics = {}
  if state.adversary is not None:
    state, metrics = adversary_step(state, x, y, noise, spec=spec, y_mask=y_mask)
  state, vae_metrics = vae_step(state, x, y, noise, spec=spec, betas=betas, y_mask=y_mask)
  if spec.infer_labels:  # the count behind OBSERVED_RATIOS, to weigh them over several steps
    vae_metrics["observed_labels"] = jnp.sum(jnp.ones_like(y) if y_mask is None else y_mask)
  return state, {**metrics, **vae_metrics}


def _recon_mse(spec: models.ModelSpec, x_mu: jax.Array, x: jax.Array) -> jax.Array:
  mean = jax.nn.sigmoid(x_mu) if spec.likelihood == "bernoulli" else x_mu
  return jnp.mean((mean - x) ** 2)


def eval_step(state: train_state_lib.TrainState, batch: Batch, rng: jax.Array, *,
              spec: models.ModelSpec, betas: dict[str, float]) -> dict[str, jax.Array]:
  """The loss terms on a batch with a fixed key, plus the adversary's accuracy on the z means,
  the MSE of the mean reconstruction (decoding the posterior means) and, for a model that infers
  labels, q(y|x)'s accuracy on the batch's labels."""
  batch = prepare_batch(batch)
  x, y = batch["x"], batch["y"]
  model = models.LatentModel(spec)
  variables = {"params": state.vae.params}
  out = model.apply(variables, x, y, models.draw_noise(spec, rng, x.shape[0]))
  logits = None
  metrics = {}
  if state.adversary is not None:
    apply = lambda z: state.adversary.apply_fn({"params": state.adversary.params}, z)
    logits = apply(out.z)
    metrics["adv_acc"] = losses.adversary_loss(apply(out.z_mu), y)[1]["adv_acc"]
  loss, terms = losses.vae_loss(spec, betas, out, x, y, logits)
  x_mu, _ = model.apply(variables, out.z_mu, out.w_mu, y, method=models.LatentModel.decode)
  metrics.update(terms, loss=loss, recon_mse=_recon_mse(spec, x_mu, x))
  if spec.infer_labels:
    metrics["label_acc"] = (jnp.mean(jnp.argmax(out.y_logits, -1) == jnp.argmax(y, -1))
                            if spec.exclusive_labels else jnp.mean((out.y_logits > 0) == (y > 0.5)))
  if spec.has_w:
    metrics["w_prior_acc"] = _w_prior_accuracy(spec, out.w_mu, y)
  return metrics
