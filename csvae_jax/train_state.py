"""The state of both players of the min-max game (params + optax state each) and its creation."""

import functools
from typing import Optional

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state

from csvae_jax import models


@flax.struct.dataclass
class TrainState:
  """Encoder/decoder ("vae") and adversary, each with its own params and optimizer state.

  `adversary` is None for the kinds without one (VAE, CondVAE).
  """
  vae: train_state.TrainState
  adversary: Optional[train_state.TrainState]

  @property
  def step(self) -> jax.Array:
    return self.vae.step


def model_spec(config: ml_collections.ConfigDict, *, x_shape: tuple[int, ...], num_labels: int,
               x_mean=(), x_std=(), label_names=(), exclusive_labels: bool = False
               ) -> models.ModelSpec:
  """Typed model fields from `config.model` and the data's shape, statistics and label kind."""
  m = config.model
  return models.ModelSpec(
      kind=m.kind, x_shape=x_shape, num_labels=num_labels, z_dim=m.z_dim, w_dim=m.w_dim,
      hidden=m.hidden, conv_channels=m.conv_channels, adversary_hidden=m.adversary_hidden, likelihood=m.likelihood,
      x_fixed_std=m.x_fixed_std, w_present_mean=m.w_present_mean,
      w_present_scale=m.w_present_scale, w_absent_mean=m.w_absent_mean,
      w_absent_scale=m.w_absent_scale, w_prior_centred=m.w_prior_centred,
      x_mean=tuple(x_mean), x_std=tuple(x_std),
      label_names=tuple(label_names), compute_dtype=m.compute_dtype,
      infer_labels=m.infer_labels, exclusive_labels=exclusive_labels,
      adversary_labels=m.adversary_labels, missing_labels=m.missing_labels)


def make_optimizer(optim: ml_collections.ConfigDict, num_steps: int) -> optax.GradientTransformation:
  """Adam with optional global-norm clipping and a constant or warmup-cosine learning rate."""
  if optim.schedule == "constant":
    learning_rate = optim.learning_rate
  elif optim.schedule == "cosine":
    learning_rate = optax.warmup_cosine_decay_schedule(
        0.0, optim.learning_rate, optim.warmup_steps, max(num_steps, optim.warmup_steps + 1),
        end_value=optim.learning_rate * optim.final_lr_factor)
  else:
    raise ValueError(f"Unknown schedule {optim.schedule!r}; valid: 'constant', 'cosine'.")
  transforms = [optax.clip_by_global_norm(optim.grad_clip)] if optim.grad_clip else []
  return optax.chain(*transforms, optax.adam(learning_rate, b1=optim.b1, b2=optim.b2))


def create_train_state(rng: jax.Array, config: ml_collections.ConfigDict,
                       spec: models.ModelSpec) -> TrainState:
  """Initialises both players' params from `rng` and their optimizers from `config.optim`."""
  model_rng, adversary_rng, sample_rng = jax.random.split(rng, 3)
  model = models.LatentModel(spec)
  x = jnp.zeros((1, *spec.x_shape), jnp.float32)
  y = jnp.zeros((1, spec.num_labels), jnp.float32)
  num_steps = config.train.num_steps
  vae = train_state.TrainState.create(
      apply_fn=model.apply,
      params=model.init(model_rng, x, y, models.draw_noise(spec, sample_rng, 1))["params"],
      tx=make_optimizer(config.optim.vae, num_steps))
  adversary = None
  if spec.has_adversary:
    net = models.Adversary(spec.adversary_hidden, spec.num_labels, jnp.dtype(spec.compute_dtype))
    adversary = train_state.TrainState.create(
        apply_fn=net.apply, params=net.init(adversary_rng, jnp.zeros((1, spec.z_dim)))["params"],
        tx=make_optimizer(config.optim.adversary, num_steps))
  return TrainState(vae=vae, adversary=adversary)


def init_train_state(rng: jax.Array, config: ml_collections.ConfigDict, spec: models.ModelSpec,
                     out_shardings=None) -> TrainState:
  """`create_train_state`, compiled once (`models.jit_init`) and placed by `out_shardings`, e.g.
  replicated on a mesh."""
  init = models.jit_init(functools.partial(create_train_state, config=config, spec=spec),
                         out_shardings=out_shardings)
  return init(rng)
