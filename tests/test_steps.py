"""The jitted min-max step: traced once, and learning that does what the paper says."""

import functools

import chex
import jax
import jax.numpy as jnp
import pytest

from csvae_jax import data as data_lib
from csvae_jax import parallel
from csvae_jax import steps
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer
from csvae_jax.data import pipeline


def _setup(config):
  dataset = data_lib.load_dataset(config.data)
  train = dataset.splits["train"]
  spec = train_state_lib.model_spec(config, x_shape=(3,), num_labels=1, x_mean=train["x"].mean(0),
                                    x_std=train["x"].std(0))
  state = train_state_lib.create_train_state(jax.random.key(0), config, spec)
  return spec, state, dataset


@pytest.mark.parametrize("kind", ["vae", "csvae"])
def test_train_step_is_traced_once(config, kind):
  chex.clear_trace_counter()  # The parametrized cases share one counter.
  config.model.kind = kind
  spec, state, dataset = _setup(config)
  batch = {k: v[:64] for k, v in dataset.splits["train"].items()}
  betas = dict(config.loss)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, batch, rng):
    return steps.train_step(state, batch, rng, spec=spec, betas=betas)

  rng = jax.random.key(1)
  for _ in range(3):
    state, metrics = step(state, batch, rng)
  assert int(state.step) == 3
  chex.assert_tree_all_finite(metrics)
  if kind == "csvae":
    assert int(state.adversary.step) == 3
  else:
    assert state.adversary is None


def _run(config, num_steps):
  """Trains in chunks of 100 steps; returns the state and the metrics of each chunk."""
  spec, state, dataset = _setup(config)
  mesh = parallel.make_mesh()
  train_chunk = trainer.make_train_chunk(spec, dict(config.loss))
  chunks = pipeline.make_chunks(dataset.splits["train"], seed=1, batch_size=config.train.batch_size,
                                first_step=0, num_steps=num_steps, steps_per_chunk=100)
  history = []
  for chunk in chunks:
    state, metrics = train_chunk(state, parallel.shard_batch(chunk, mesh, leading_dims=1),
                                 jax.random.key(1))
    history.append(jax.device_get(metrics))
  return spec, state, dataset, history


def test_csvae_learns_and_hides_the_label_from_z(config):
  spec, state, dataset, history = _run(config, 2000)
  first, last = history[0], history[-1]
  for term in ("loss", "recon", "kl_w"):
    assert last[term] < first[term] - 0.5, (term, first[term], last[term])
  # The encoder keeps the adversary near chance (labels are ~52/48) and M2 near its minimum.
  assert last["adv_acc"] < 0.6 and last["m2"] < -0.65
  test = dataset.splits["test"]
  eval_metrics = jax.jit(functools.partial(steps.eval_step, spec=spec, betas=dict(config.loss)))(
      state, test, jax.random.key(2))
  majority = max(test["y"].mean(), 1 - test["y"].mean())
  assert eval_metrics["adv_acc"] < majority + 0.08
  assert eval_metrics["w_prior_acc"] > 0.95
  assert eval_metrics["recon_mse"] < 0.2 * test["x"].var(0).mean()


def test_bfloat16_training_stays_finite_and_close_to_float32(config):
  config.train.batch_size = 256
  _, _, _, history32 = _run(config, 500)
  config.model.compute_dtype = "bfloat16"
  _, state, _, history16 = _run(config, 500)
  chex.assert_tree_all_finite(state)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.vae.params))
  for term in ("recon", "kl_z", "kl_w"):
    assert abs(history16[-1][term] - history32[-1][term]) < 0.1 * abs(history32[0][term]), term
