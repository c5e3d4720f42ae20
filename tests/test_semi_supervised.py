"""Missing labels: the bound over q(y|x) (Kingma et al. 2014's M2 for every kind that takes y),
checked against numpy, and equal to the supervised objective when every label is observed."""

import dataclasses
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import csvae_jax
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import losses
from csvae_jax import models
from csvae_jax import steps
from csvae_jax import switching
from csvae_jax import train_state as train_state_lib
from csvae_jax import trainer

BETAS = {"beta_x": 2.0, "beta_z": 0.7, "beta_w": 1.3, "beta_h": 5.0, "alpha": 0.4,
         "unlabelled_ramp_steps": 0, "label_confidence": 0.0}


def _state(config, kind, infer_labels, num_labels=2, exclusive=False, missing="expectation"):
  config.model.kind, config.model.infer_labels = kind, infer_labels
  config.model.missing_labels = missing
  for player in ("vae", "adversary"):
    config.optim[player].schedule = "constant"
  spec = train_state_lib.model_spec(config, x_shape=(3,), num_labels=num_labels,
                                    exclusive_labels=exclusive)
  return spec, train_state_lib.init_train_state(jax.random.key(0), config, spec)


def _np(a):
  return np.asarray(a, np.float64)


def _kl(mu, logvar, mu_p=0.0, logvar_p=0.0):
  return 0.5 * np.sum(logvar_p - logvar + (np.exp(logvar) + (mu - mu_p) ** 2)
                      / np.exp(logvar_p) - 1.0, axis=-1)


def _log_sigmoid(a):
  return -np.logaddexp(0.0, -a)


def _numpy_terms(spec, out, x, y, adversary_logits):
  """Each example's beta-weighted bound L(x, y), from the model's outputs, in numpy: [B]."""
  recon = 0.5 * np.sum(np.log(2 * np.pi) + _np(out.x_logvar)
                       + (_np(x) - _np(out.x_mu)) ** 2 / np.exp(_np(out.x_logvar)), axis=-1)
  total = BETAS["beta_x"] * recon + BETAS["beta_z"] * _kl(_np(out.z_mu), _np(out.z_logvar))
  if spec.kind == "csvae":
    y_w = np.repeat(_np(y), spec.w_dim, axis=-1)
    prior_mu, prior_std = 3.0 * y_w, np.where(y_w == 1, 1.0, 0.1)
    total += BETAS["beta_w"] * _kl(_np(out.w_mu), _np(out.w_logvar), prior_mu,
                                   2 * np.log(prior_std))
    a = _np(adversary_logits)
    q = 1 / (1 + np.exp(-a))
    total += BETAS["beta_h"] * np.sum(q * _log_sigmoid(a) + (1 - q) * _log_sigmoid(-a), -1)
  if spec.kind == "condvae_info":
    a = _np(adversary_logits)
    ce = -(_np(y) * _log_sigmoid(a) + (1 - _np(y)) * _log_sigmoid(-a))
    total -= BETAS["beta_h"] * np.sum(ce, -1)
  return total


def _numpy_objective(spec, state, x, y, y_mask, noise, unlabelled_weight=1.0):
  """The semi-supervised objective, enumerating every label combination in numpy; the examples
  with a missing label weighted by `unlabelled_weight`."""
  model = models.LatentModel(spec)
  params = {"params": state.vae.params}
  def bound(labels):  # L(x, labels) of every example, labels [B, k]
    out = model.apply(params, x, labels, noise)
    adversary = (state.adversary.apply_fn({"params": state.adversary.params}, out.z)
                 if state.adversary else None)
    return _numpy_terms(spec, out, x, labels, adversary)
  logits = _np(model.apply(params, x, method=models.LatentModel.classify))
  k, y, y_mask = spec.num_labels, _np(y), _np(y_mask)
  combos = np.eye(k) if spec.exclusive_labels else np.array(
      list(itertools.product([0.0, 1.0], repeat=k)))
  bounds = np.stack([bound(jnp.asarray(np.tile(c, (len(y), 1)), jnp.float32))
                     for c in combos], 1)                                   # [B, C]
  losses, entropies, ces, labelled = [], [], [], []
  for b in range(len(y)):
    missing = y_mask[b] < 0.5
    if spec.exclusive_labels:
      q = np.exp(logits[b] - np.logaddexp.reduce(logits[b]))
      if missing.any():
        losses.append(unlabelled_weight * np.sum(q * bounds[b]))
        entropies.append(-unlabelled_weight * np.sum(q * np.log(q)))
        ces.append(0.0)
      else:
        losses.append(bounds[b, int(np.argmax(y[b]))])
        entropies.append(0.0)
        ces.append(-np.log(q[int(np.argmax(y[b]))]))
      labelled.append(not missing.any())
      continue
    q = 1 / (1 + np.exp(-logits[b]))
    total = 0.0
    for c, combo in enumerate(combos):
      if np.all(combo[~missing] == y[b][~missing]):
        total += np.prod(np.where(combo[missing] == 1, q[missing], 1 - q[missing])) * bounds[b, c]
    weight = unlabelled_weight if missing.any() else 1.0
    losses.append(weight * total)
    entropies.append(-weight * np.sum((q * np.log(q) + (1 - q) * np.log(1 - q))[missing]))
    p_true = np.where(y[b] == 1, q, 1 - q)
    ces.append(-np.sum(np.log(p_true)[~missing]))
    labelled.append((~missing).any())
  return (np.mean(losses) - np.mean(entropies)
          + BETAS["alpha"] * np.sum(ces) / max(np.sum(labelled), 1))


def _mixed_batch(exclusive):
  """x [6, 3], y and y_mask [6, k]: all labels observed, some missing (not for exclusive labels),
  all missing; missing labels 0, as `steps.prepare_batch` hands them over."""
  x = jax.random.normal(jax.random.key(1), (6, 3))
  if exclusive:
    y = jnp.eye(3)[jnp.array([0, 1, 2, 0, 1, 2])]
    y_mask = jnp.array([[1.0] * 3] * 3 + [[0.0] * 3] * 3)
  else:
    y = jnp.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]], jnp.float32)
    y_mask = jnp.array([[1, 1], [1, 1], [1, 0], [0, 1], [0, 0], [0, 0]], jnp.float32)
  return x, y * y_mask, y_mask


def _mixed_batch_step(config, kind, exclusive, step, ramp, missing="expectation", confidence=0.0):
  """One vae_step at `step` of a ramp over `ramp` steps (and the given label_confidence), on a
  batch of every case: all labels observed, some missing, all missing. Returns (spec, state, x,
  y, y_mask, noise, metrics)."""
  spec, state = _state(config, kind, True, 3 if exclusive else 2, exclusive, missing)
  state = state.replace(vae=state.vae.replace(step=jnp.asarray(step, state.vae.step.dtype)))
  x, y, y_mask = _mixed_batch(exclusive)
  noise = models.draw_noise(spec, jax.random.key(2), 6)
  betas = dict(BETAS, unlabelled_ramp_steps=ramp, label_confidence=confidence)
  _, metrics = jax.jit(functools.partial(steps.vae_step, spec=spec, betas=betas))(
      state, x, y, noise, y_mask=y_mask)
  return spec, state, x, y, y_mask, noise, metrics


@pytest.mark.parametrize("kind,exclusive,step,ramp,weight", [
    ("condvae", False, 0, 0, 1.0), ("condvae_info", False, 300, 120, 1.0),
    ("csvae", False, 30, 120, 0.25), ("csvae", True, 0, 0, 1.0)])
def test_masked_objective_matches_numpy(config, kind, exclusive, step, ramp, weight):
  """A batch of every case: all labels observed, some missing, all missing; at `step` of a ramp
  of the unlabelled examples over `ramp` steps (their `weight`)."""
  spec, state, x, y, y_mask, noise, metrics = _mixed_batch_step(config, kind, exclusive, step,
                                                                ramp)
  expected = _numpy_objective(spec, state, x, y, y_mask, noise, weight)
  np.testing.assert_allclose(float(metrics["loss"]), expected, rtol=1e-5)


def _numpy_sureness(logits, y_mask, exclusive):
  """q(y|x)'s probability of each example's least sure filled label, [B] (exclusive labels: of
  its likeliest class; 1 where every label is observed); logits, y_mask [B, k] numpy."""
  if exclusive:
    return np.exp(logits.max(-1) - np.logaddexp.reduce(logits, -1))
  q_filled = np.where(logits > 0, np.exp(_log_sigmoid(logits)), np.exp(_log_sigmoid(-logits)))
  return np.min(np.where(y_mask > 0.5, 1.0, q_filled), -1)


def _numpy_likeliest_objective(spec, state, x, y, y_mask, noise, unlabelled_weight,
                               confidence=0.0):
  """missing_labels="likeliest" in numpy: each example's bound at its observed labels and q(y|x)'s
  likelier value of each missing one, those with a missing label weighted (0 where q gives a
  filled label a probability under `confidence`); plus alpha * CE. Returns (the objective, the
  filled labels [B, k], whether each example with a missing label counts [B])."""
  model = models.LatentModel(spec)
  params = {"params": state.vae.params}
  logits = _np(model.apply(params, x, method=models.LatentModel.classify))
  y, y_mask = _np(y), _np(y_mask)
  if spec.exclusive_labels:
    guess = np.eye(spec.num_labels)[np.argmax(logits, -1)]
    observed = np.all(y_mask > 0.5, -1)
    filled = np.where(observed[:, None], y, guess)
    log_q = logits - np.logaddexp.reduce(logits, -1, keepdims=True)
    ces = np.where(observed, -np.sum(y * log_q, -1), 0.0)
  else:
    filled = np.where(y_mask > 0.5, y, (logits > 0).astype(np.float64))
    observed = np.any(y_mask > 0.5, -1)
    ces = -np.sum(y_mask * np.where(y == 1, _log_sigmoid(logits), _log_sigmoid(-logits)), -1)
  sure = _numpy_sureness(logits, y_mask, spec.exclusive_labels) >= confidence
  labels = jnp.asarray(filled, jnp.float32)
  out = model.apply(params, x, labels, noise)
  adversary = (state.adversary.apply_fn({"params": state.adversary.params}, out.z)
               if state.adversary else None)
  bounds = _numpy_terms(spec, out, x, labels, adversary)
  full = np.all(y_mask > 0.5, -1)
  weights = np.where(full, 1.0, np.where(sure, unlabelled_weight, 0.0))
  objective = np.mean(weights * bounds) + BETAS["alpha"] * np.sum(ces) / max(np.sum(observed), 1)
  return objective, filled, sure[~full]


@pytest.mark.parametrize("kind,exclusive,step,ramp,weight,gate", [
    ("csvae", False, 30, 120, 0.25, False), ("condvae_info", True, 0, 0, 1.0, False),
    ("csvae", False, 30, 120, 0.25, True)])
def test_the_objective_at_q_s_likeliest_labels_matches_numpy(config, kind, exclusive, step, ramp,
                                                               weight, gate):
  """missing_labels="likeliest", the batch of the test above: one pass at the observed labels and
  q(y|x)'s likeliest values of the missing ones; the batch holds a missing label q fills with 1 and
  an observed label q disagrees with (so that neither can pass for the other). With `gate`, a
  label_confidence that q(y|x) reaches on some examples with a missing label and not on others."""
  confidence = 0.0
  if gate:  # halfway between the least and the most sure of q's guesses for an example
    spec, state = _state(config, kind, True, 3 if exclusive else 2, exclusive, "likeliest")
    x, _, y_mask = _mixed_batch(exclusive)
    logits = _np(models.LatentModel(spec).apply({"params": state.vae.params}, x,
                                                method=models.LatentModel.classify))
    sure = _numpy_sureness(logits, _np(y_mask), exclusive)[np.any(_np(y_mask) < 0.5, -1)]
    confidence = float((sure.min() + sure.max()) / 2)
  spec, state, x, y, y_mask, noise, metrics = _mixed_batch_step(config, kind, exclusive, step,
                                                                ramp, "likeliest", confidence)
  expected, filled, admitted = _numpy_likeliest_objective(spec, state, x, y, y_mask, noise, weight,
                                                          confidence)
  np.testing.assert_allclose(float(metrics["loss"]), expected, rtol=1e-5)
  np.testing.assert_allclose(float(metrics["admitted"]), np.mean(admitted), rtol=1e-6)
  if gate:  # the gate lets some incomplete examples in and keeps others out
    assert 0 < np.mean(admitted) < 1
  assert "label_entropy" not in metrics
  # q's guesses fill some missing labels with 1 and disagree with some observed ones.
  guess = models.likeliest_labels(spec, models.LatentModel(spec).apply(
      {"params": state.vae.params}, x, method=models.LatentModel.classify))
  assert np.any(filled[_np(y_mask) < 0.5] == 1)
  assert np.any(_np(guess)[_np(y_mask) > 0.5] != _np(y)[_np(y_mask) > 0.5])


@pytest.mark.parametrize("exclusive", [False, True])
def test_label_confidence_admits_an_example_by_q_s_probability_of_its_filled_labels(exclusive):
  """Four examples, their reconstruction terms 1, 2, 3, 4, the unlabelled ones weighted 0.5: the
  first observed; the second with q unsure of its observed label but sure of its missing one's
  value 0 (probability 0.95); the third unsure (0.62); the fourth sure of 1 and of 0 (exclusive
  labels: the likeliest class's probability 0.95 / 0.62 / 0.98). At confidence 0.9 the second and
  fourth count: mean (1 + 0.5 * 2 + 0.5 * 4) / 4 = 1."""
  if exclusive:
    logits = np.log([[1.0, 1.0, 1.0], [0.95, 0.025, 0.025], [0.62, 0.19, 0.19],
                     [0.01, 0.98, 0.01]])
    y_mask = np.array([[1.0] * 3] + [[0.0] * 3] * 3)
    y = np.array([[1.0, 0, 0]] + [[0.0] * 3] * 3)
  else:
    logits = np.array([[0.0, 0.0], [-0.1, -np.log(19)], [3.0, 0.5], [4.0, -4.0]])
    y_mask = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
  spec = models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=y.shape[1],
                          exclusive_labels=exclusive, infer_labels=True,
                          missing_labels="likeliest")
  terms = {"recon": jnp.array([1.0, 2.0, 3.0, 4.0])}
  _, metrics = losses.likeliest_label_loss(
      spec, BETAS, 0.0, terms, jnp.asarray(logits, jnp.float32), jnp.asarray(y, jnp.float32),
      jnp.asarray(y_mask, jnp.float32), 0.5, confidence=0.9)
  np.testing.assert_allclose(float(metrics["recon"]), 1.0, rtol=1e-6)
  np.testing.assert_allclose(float(metrics["admitted"]), 2 / 3, rtol=1e-6)


@pytest.mark.parametrize("kind,missing", [("condvae", "expectation"),
                                          ("condvae_info", "expectation"),
                                          ("csvae", "expectation"), ("csvae", "likeliest")])
def test_every_label_observed_is_the_supervised_objective_bit_for_bit(config, kind, missing):
  """q(y|x) adds its own network and its classification loss, nothing else: with every label
  observed, every term and the bound equal the supervised model's, to the last bit. The shared
  parameters after a step agree to float rounding (XLA may sum the gradient's parts in another
  order once the enumerated pass is in the program; its own part is exactly zero). At q's
  likeliest labels the terms agree to float rounding only: the w-encoder takes the labels as
  filled in the step (the given ones, numerically), and XLA may order their sums otherwise."""
  spec, state = _state(config, kind, False)
  semi_spec, semi_state = _state(config, kind, True, missing=missing)
  shared = {k: v for k, v in semi_state.vae.params.items() if k != "label_encoder"}
  assert set(semi_state.vae.params) - set(shared) == {"label_encoder"}
  for a, b in zip(jax.tree.leaves(shared), jax.tree.leaves(state.vae.params), strict=True):
    np.testing.assert_array_equal(a, b)  # the same initial weights
  x = jax.random.normal(jax.random.key(1), (16, 3))
  y = (jax.random.uniform(jax.random.key(3), (16, 2)) > 0.5).astype(jnp.float32)
  noise = models.draw_noise(spec, jax.random.key(2), 16)
  batch = {"x": x, "y": y, "y_mask": jnp.ones_like(y)}
  def step(spec, state):
    return jax.jit(functools.partial(steps.train_step, spec=spec, betas=BETAS))(
        state, steps.prepare_batch(batch), noise)
  (after, metrics), (semi_after, semi_metrics) = step(spec, state), step(semi_spec, semi_state)
  same = (np.testing.assert_array_equal if missing == "expectation" else
          functools.partial(np.testing.assert_allclose, rtol=1e-6))
  for name in ("recon", "kl_z", "kl_w", "m2", "neg_adv_ce", "n"):
    if name in metrics:
      same(semi_metrics[name], metrics[name])
  same(semi_metrics["bound"], metrics["loss"])
  assert float(semi_metrics.get("label_entropy", 0.0)) == 0.0
  np.testing.assert_allclose(semi_metrics["loss"],
                             metrics["loss"] + BETAS["alpha"] * semi_metrics["label_ce"], rtol=1e-6)
  semi_shared = {k: v for k, v in semi_after.vae.params.items() if k != "label_encoder"}
  for a, b, before in zip(jax.tree.leaves(semi_shared), jax.tree.leaves(after.vae.params),
                          jax.tree.leaves(state.vae.params), strict=True):
    np.testing.assert_allclose(a - before, b - before, rtol=1e-4, atol=1e-7)


def test_a_semi_supervised_csvae_learns_from_a_tenth_of_the_labels(config, tmp_path):
  """The swiss roll with 90% of its labels hidden: q(y|x) learns the label far above chance, and
  z stays free of it. With Kingma's alpha = 0.1 (the default) q(y|x)'s accuracy reaches only 0.58
  here (the bound hardly depends on y, and its entropy term pulls q towards 1/2); alpha = 1 gives
  0.96, alpha = 10 0.99 (seed 0, measured)."""
  config.model.infer_labels, config.data.label_fraction = True, 0.1
  config.train.num_steps, config.loss.alpha = 1000, 1.0
  trainer.train_and_evaluate(config, str(tmp_path))
  model = csvae_jax.load(str(tmp_path))
  dataset = data_lib.load_evaluation_dataset(config.data)
  train, test = dataset.splits["train"], dataset.splits["test"]
  accuracy = np.mean(model.infer_labels(test["x"]) == test["y"])
  assert accuracy > 0.9  # chance: about 0.5
  assert evaluate.evaluate(None, str(tmp_path))["label_inference_accuracy"] == accuracy
  z_train, z_test = (model.encode(s["x"], s["y"])["z_mu"] for s in (train, test))
  assert evaluate.probe_accuracy(z_train, train["y"][:, 0], z_test, test["y"][:, 0]) <= 0.6
  # Edits need no label: q(y|x) supplies it.
  np.testing.assert_allclose(csvae_jax.switch_attribute(model, test["x"][:4], None, 0),
                             csvae_jax.switch_attribute(model, test["x"][:4],
                                                        model.infer_labels(test["x"][:4]), 0))
  # So does the edit command's: q(y|x)'s labels, each overridden by --labels.
  inferred = model.infer_labels(test["x"])
  faces = [np.flatnonzero(inferred[:, 0] == value)[0] for value in (0, 1)]  # neither default fits
  name = model.spec.label_names[0]
  for x, y in zip(test["x"][faces], inferred[faces]):
    np.testing.assert_array_equal(switching.photo_labels(model, x, 0, False, {}), y)
    np.testing.assert_array_equal(
        switching.photo_labels(model, x, 0, False, {name: 1.0 - y[0]}), 1.0 - y)


@pytest.mark.parametrize("exclusive", [False, True])
def test_inferred_labels_are_q_y_given_x_likeliest(config, exclusive):
  """An untrained q(y|x), whose probabilities spread over (0, 1): each binary label takes its
  likelier value, exclusive labels the likeliest class, one-hot."""
  spec, state = _state(config, "csvae", True, num_labels=3, exclusive=exclusive)
  model = csvae_jax.TrainedModel(spec=dataclasses.replace(spec, label_names=("a", "b", "c")),
                                 params=state.vae.params, adversary_params=None, config=config,
                                 step=0, workdir="")
  x = np.random.default_rng(0).normal(scale=3.0, size=(64, 3)).astype(np.float32)
  probs, labels = model.label_probabilities(x), model.infer_labels(x)
  if exclusive:
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)  # one distribution over the classes
    likeliest = probs.argmax(1)
    assert len(set(likeliest)) > 1  # the check below can tell classes apart
    np.testing.assert_array_equal(labels, np.eye(3)[likeliest])
  else:
    assert ((probs > 0.55) & (probs < 0.9)).any() and (probs < 0.45).any()
    np.testing.assert_array_equal(labels, np.stack([1 - probs, probs]).argmax(0))
    # An edit without labels starts from these: the other labels reach the decoder through w
    # (an exclusive switch sets the whole row).
    point = np.zeros(spec.w_dim, np.float32)
    edit = lambda y: csvae_jax.switch_attribute(model, x, y, 0, point=point, exclusive=False)
    np.testing.assert_array_equal(edit(None), edit(labels))
    assert not np.allclose(edit(None), edit(1 - labels))
  # The evaluation's label accuracy scores these same guesses against the batch's labels.
  rng = np.random.default_rng(1)
  y = (np.eye(3)[rng.integers(0, 3, 64)] if exclusive else rng.integers(0, 2, (64, 3))).astype(
      np.float32)
  metrics = steps.eval_step(state, {"x": x, "y": y}, jax.random.key(0), spec=spec,
                            betas=dict(config.loss))
  expected = np.mean(np.all(labels == y, axis=1) if exclusive else labels == y)
  np.testing.assert_allclose(metrics["label_acc"], expected, rtol=1e-6)


def test_an_edited_photos_exclusive_label_is_the_one_given(config):
  """The edit command's `--labels` on a model of exclusive labels (TFD's expressions): name=1
  makes the one-hot row of that label, whatever q(y|x) guesses (set over q's guess, it made two
  labels 1); any other form is refused in one line."""
  spec, state = _state(config, "csvae", True, num_labels=3, exclusive=True)
  model = csvae_jax.TrainedModel(spec=dataclasses.replace(spec, label_names=("a", "b", "c")),
                                 params=state.vae.params, adversary_params=None, config=config,
                                 step=0, workdir="")
  x = np.random.default_rng(0).normal(scale=3.0, size=(64, 3)).astype(np.float32)
  face = x[model.infer_labels(x)[:, 1] == 0][0]  # q(y|x) does not say "b"
  for labels in ({"b": 1.0}, {"b": 1.0, "c": 0.0}):
    np.testing.assert_array_equal(switching.photo_labels(model, face, 0, False, labels), [0, 1, 0])
  for labels in ({"b": 0.0}, {"b": 1.0, "c": 1.0}):
    with pytest.raises(ValueError, match="exclusive"):
      switching.photo_labels(model, face, 0, False, labels)


def test_a_missing_label_never_reaches_the_model(config):
  """Two batches that differ only in the values behind their missing labels train alike, even
  handed to the step unmasked; and the batch the step gets holds 0 for every missing label."""
  spec, state = _state(config, "csvae", True)
  x = jax.random.normal(jax.random.key(1), (8, 3))
  y_mask = jnp.array([[1, 1], [0, 1], [1, 0], [0, 0]] * 2, jnp.float32)
  step = jax.jit(functools.partial(steps.train_step, spec=spec, betas=BETAS))
  noise = models.draw_noise(spec, jax.random.key(2), 8)
  outs = [step(state, {"x": x, "y": y, "y_mask": y_mask}, noise)[0].vae.params
          for y in (jnp.ones((8, 2)), y_mask)]  # hidden values 1, then 0
  for a, b in zip(jax.tree.leaves(outs[0]), jax.tree.leaves(outs[1]), strict=True):
    np.testing.assert_array_equal(a, b)
  prepared = steps.prepare_batch({"x": x, "y": jnp.ones((8, 2)), "y_mask": y_mask})
  np.testing.assert_array_equal(prepared["y"], y_mask)
  # The probe on w counts observed labels only: with none, none is right (a 0 read as "absent"
  # would score wherever w_j lies nearer the absent prior).
  unobserved = {"x": x, "y": jnp.ones((8, 2)), "y_mask": jnp.zeros((8, 2))}
  assert step(state, unobserved, noise)[1]["w_prior_acc"] == 0.0


def test_every_training_step_holds_labelled_per_batch_labelled_examples(config, tmp_path,
                                                                         monkeypatch):
  """With 1% of the labels a batch of 64 would hold 0.64 labelled examples; the trainer's steps
  get config.train.labelled_per_batch of them, every step (the first dispatch's 100 steps, read
  where the compiled chunk would run them)."""
  config.model.infer_labels, config.data.label_fraction = True, 0.01
  config.train.labelled_per_batch = 4

  class Seen(Exception):
    pass

  def record(state, chunk, loop_rng):
    raise Seen(np.asarray(chunk["y_mask"]).any(axis=-1).sum(axis=-1))  # [C]

  monkeypatch.setattr(trainer, "make_train_chunk", lambda spec, betas: record)
  with pytest.raises(Seen) as seen:
    trainer.train_and_evaluate(config, str(tmp_path))
  np.testing.assert_array_equal(seen.value.args[0], np.full(config.train.steps_per_dispatch, 4))


@pytest.mark.parametrize("kind", ["condvae", "condvae_info", "csvae"])
def test_a_model_that_needs_labels_refuses_training_examples_without_them(config, kind, tmp_path):
  """Without q(y|x), a kind that takes y would read the hidden labels as 0: the run stops before
  its first step, naming both ways out, and writes no checkpoint."""
  config.model.kind, config.data.label_fraction = kind, 0.5
  with pytest.raises(ValueError, match="miss labels.*infer_labels=True.*unlabelled='drop'"):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert not (tmp_path / "checkpoints").exists()
  config.model.kind = "vae"  # takes no label: trains on every example
  trainer.train_and_evaluate(config, str(tmp_path / "vae"))


def test_too_many_independent_labels_to_enumerate_is_one_error():
  """2^k decoder passes per example: k = 8 (256) is allowed, k = 9 a ValueError naming the fix;
  exclusive labels enumerate k values, so many of them are fine."""
  spec = functools.partial(models.ModelSpec, kind="csvae", x_shape=(3,), infer_labels=True)
  assert models.MAX_ENUMERATED_LABELS == 8
  spec(num_labels=8)  # allowed
  spec(num_labels=40, exclusive_labels=True)  # allowed: 40 values
  with pytest.raises(ValueError, match=r"2\^k values.*k=9 is more than 8: train on fewer.*"
                     "missing_labels=likeliest"):
    spec(num_labels=9)
  spec(num_labels=40, missing_labels="likeliest")  # one pass whatever k
  with pytest.raises(ValueError, match="missing_labels='likeliest'.*needs config.model.infer_labels"):
    models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=2, missing_labels="likeliest")
  with pytest.raises(ValueError, match="missing_labels='mode': valid are expectation, likeliest"):
    spec(num_labels=2, missing_labels="mode")
  models.ModelSpec(kind="csvae", x_shape=(3,), num_labels=40)  # no q(y|x), no enumeration


def test_label_inference_accuracy_counts_an_exclusive_example_right_only_when_its_class_is():
  truth = np.eye(4)[[0, 1, 2, 3]]
  inferred = np.eye(4)[[0, 1, 3, 3]]  # one class wrong: two of its four entries differ
  exclusive = evaluate.label_inference_accuracy(inferred, truth, True, "abcd")
  assert exclusive == {"label_inference_accuracy": 0.75}
  independent = evaluate.label_inference_accuracy(inferred, truth, False, "abcd")
  assert independent == {"label_inference_accuracy": 0.875, "label_inference_accuracy/a": 1.0,
                         "label_inference_accuracy/b": 1.0, "label_inference_accuracy/c": 0.75,
                         "label_inference_accuracy/d": 0.75}
  assert evaluate.label_inference_accuracy(inferred[:, :1], truth[:, :1], False, "a") == {
      "label_inference_accuracy": 1.0}


def test_combinations_weighted_by_q_of_the_missing_labels_and_only_observed_ones_classified():
  """k = 2 independent labels, combinations [0,0], [1,0], [0,1], [1,1]; exclusive: the classes."""
  logits = np.array([0.3, -1.2], np.float32)
  q = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))  # q(y_i = 1 | x)
  combos = losses.label_combinations(2, exclusive=False)
  def weights(y, y_mask, exclusive=False, c=combos):
    return np.asarray(losses.combination_weights(jnp.asarray(logits), jnp.asarray(y, jnp.float32),
                                                 jnp.asarray(y_mask, jnp.float32), c, exclusive))
  np.testing.assert_allclose(weights([1, 0], [1, 1]), [0, 1, 0, 0])  # observed: its own labels
  np.testing.assert_allclose(weights([1, 0], [1, 0]), [0, 1 - q[1], 0, q[1]], rtol=1e-6)
  np.testing.assert_allclose(weights([0, 0], [0, 0]), [(1 - q[0]) * (1 - q[1]), q[0] * (1 - q[1]),
                                                       (1 - q[0]) * q[1], q[0] * q[1]], rtol=1e-6)
  classes = losses.label_combinations(2, exclusive=True)
  softmax = np.exp(logits) / np.exp(logits).sum()
  np.testing.assert_allclose(weights([0, 1], [1, 1], True, classes), [0, 1])
  np.testing.assert_allclose(weights([0, 0], [0, 0], True, classes), softmax, rtol=1e-6)
  # The classification loss counts the observed labels alone, whatever a missing one holds.
  def ce(y, y_mask, exclusive):
    return float(losses.observed_cross_entropy(jnp.asarray(logits), jnp.asarray(y, jnp.float32),
                                               jnp.asarray(y_mask, jnp.float32), exclusive))
  assert ce([0, 1], [0, 0], True) == 0.0
  np.testing.assert_allclose(ce([0, 1], [1, 1], True), -np.log(softmax[1]), rtol=1e-6)
  np.testing.assert_allclose(ce([1, 1], [1, 0], False), -np.log(q[0]), rtol=1e-6)


def test_q_learns_from_the_bound_and_not_from_the_adversarial_term(config):
  """One missing label, q(y=1|x) = 1/2 (where the entropy's gradient is 0): the reconstruction
  term, 1 at y' = 0 and 3 at y' = 1, moves q's logit by beta_x * (3 - 1) * q (1 - q); CondVAE-info's
  -CE(r(y|z), y'), however unequal over y', does not move it. The example weighs 1/2 (early in a
  ramp of the unlabelled examples): so does the reconstruction's pull."""
  spec, _ = _state(config, "condvae_info", True, num_labels=1)
  def grad(term, values, betas):
    def loss(logits):
      return losses.semi_supervised_loss(
          spec, {**dict.fromkeys(("beta_x", "beta_z", "beta_w", "beta_h"), 0.0), **betas}, 0.0,
          {term: jnp.zeros(1)}, {term: jnp.array([values])}, losses.label_combinations(1, False),
          logits, jnp.zeros((1, 1)), jnp.zeros((1, 1)), 0.5)[0]
    return float(jax.grad(loss)(jnp.zeros((1, 1)))[0, 0])
  np.testing.assert_allclose(grad("recon", [1.0, 3.0], {"beta_x": 2.0}), 0.5 * 2.0 * 2.0 * 0.25)
  assert grad("neg_adv_ce", [-0.1, -2.0], {"beta_h": 5.0}) == 0.0


@pytest.mark.parametrize("exclusive", [False, True])
def test_q_is_scored_on_the_observed_labels_alone(config, exclusive):
  """q(y|x)'s training accuracy: right on every observed label, wrong on each hidden one (held as
  0), it scores 1."""
  spec, _ = _state(config, "csvae", True, num_labels=2, exclusive=exclusive)
  y = jnp.array([[1.0, 0.0], [0.0, 0.0]] if exclusive else [[1.0, 0.0], [1.0, 0.0]])
  y_mask = jnp.array([[1.0, 1.0], [0.0, 0.0]] if exclusive else [[1.0, 1.0], [1.0, 0.0]])
  logits = jnp.array([[3.0, -3.0], [-3.0, 3.0]] if exclusive else [[3.0, -3.0], [3.0, 3.0]])
  combos = losses.label_combinations(2, exclusive)
  _, metrics = losses.semi_supervised_loss(
      spec, dict(config.loss), 0.1, {"recon": jnp.zeros(2)},
      {"recon": jnp.zeros((2, len(combos)))}, combos, logits, y, y_mask)
  assert float(metrics["label_acc"]) == 1.0


def test_the_adversary_learns_from_the_observed_examples_alone(config):
  """A batch whose second half has its labels hidden moves the adversary as its first half
  alone does: the hidden labels (held as 0) teach it nothing."""
  spec, state = _state(config, "csvae", True)
  x = jax.random.normal(jax.random.key(1), (16, 3))
  y = (jax.random.uniform(jax.random.key(2), (16, 2)) < 0.5).astype(jnp.float32)
  y_mask = jnp.concatenate([jnp.ones((8, 2)), jnp.zeros((8, 2))])
  noise = models.draw_noise(spec, jax.random.key(3), 16)
  step = jax.jit(functools.partial(steps.adversary_step, spec=spec))
  copy = lambda tree: jax.tree.map(jnp.copy, tree)
  both, _ = step(copy(state), x, y * y_mask, noise, y_mask=y_mask)
  half, _ = step(copy(state), x[:8], y[:8], jax.tree.map(lambda a: a[:8], noise),
                 y_mask=y_mask[:8])
  for a, b, before in zip(jax.tree.leaves(both.adversary.params),
                          jax.tree.leaves(half.adversary.params),
                          jax.tree.leaves(state.adversary.params), strict=True):
    np.testing.assert_allclose(a - before, b - before, rtol=1e-4, atol=1e-7)


def test_an_adversary_of_inferred_labels_learns_q_s_likeliest_for_the_missing_ones(config):
  """adversary_labels="inferred": a batch whose second half has its labels hidden moves the
  adversary as the whole batch does with q(y|x)'s likeliest labels in their place and the observed
  ones kept, all given to an adversary of "observed" labels (and otherwise than "observed" does
  on the hidden batch); the setting needs a model that infers labels."""
  config.model.adversary_labels = "inferred"
  spec, state = _state(config, "csvae", True)
  x = jax.random.normal(jax.random.key(1), (16, 3))
  y = (jax.random.uniform(jax.random.key(2), (16, 2)) < 0.5).astype(jnp.float32)
  y_mask = jnp.concatenate([jnp.ones((8, 2)), jnp.zeros((8, 2))])
  noise = models.draw_noise(spec, jax.random.key(3), 16)
  logits = models.LatentModel(spec).apply({"params": state.vae.params}, x,
                                          method=models.LatentModel.classify)
  filled = jnp.where(y_mask > 0, y, (logits > 0).astype(jnp.float32))
  assert filled[8:].any()  # q's guesses are not the zeros held for the hidden labels
  copy = lambda tree: jax.tree.map(jnp.copy, tree)
  def step(spec, y, y_mask):
    after, _ = jax.jit(functools.partial(steps.adversary_step, spec=spec))(
        copy(state), x, y, noise, y_mask=y_mask)
    return jax.tree.leaves(after.adversary.params)
  observed_spec = dataclasses.replace(spec, adversary_labels="observed")
  # The reference takes the filled labels as given, every one observed: no inference in its path.
  inferred, full = step(spec, y * y_mask, y_mask), step(observed_spec, filled, jnp.ones_like(y))
  observed = step(observed_spec, y * y_mask, y_mask)
  for a, b, c, before in zip(inferred, full, observed, jax.tree.leaves(state.adversary.params)):
    np.testing.assert_allclose(a - before, b - before, rtol=1e-4, atol=1e-7)
  assert any(not np.allclose(a, c) for a, c in zip(inferred, observed))
  with pytest.raises(ValueError, match="needs config.model.infer_labels=True"):
    dataclasses.replace(spec, infer_labels=False)


def test_a_chunk_weighs_the_ratios_over_observed_labels_by_their_count(config):
  """Two steps in one dispatch, the second without an observed label: the chunk's accuracies and
  its means over observed labels (N, q's cross-entropy) are the first step's (a plain mean over
  steps would halve them)."""
  spec, state = _state(config, "csvae", True)
  x = jax.random.normal(jax.random.key(1), (2, 8, 3))
  y = (jax.random.uniform(jax.random.key(2), (2, 8, 2)) < 0.5).astype(jnp.float32)
  y_mask = jnp.stack([jnp.ones((8, 2)), jnp.zeros((8, 2))])
  train_chunk = trainer.make_train_chunk(spec, BETAS)
  copy = lambda tree: jax.tree.map(jnp.copy, tree)  # the chunk donates the state
  _, both = train_chunk(copy(state), {"x": x, "y": y, "y_mask": y_mask}, jax.random.key(3))
  _, first = train_chunk(copy(state), {"x": x[:1], "y": y[:1], "y_mask": y_mask[:1]},
                         jax.random.key(3))
  assert both["observed_labels"] == 8.0 and first["observed_labels"] == 16.0
  for key in ("adv_acc", "w_prior_acc", "label_acc", "n", "label_ce"):
    assert first[key] > 0.0
    np.testing.assert_allclose(both[key], first[key], rtol=1e-5)
