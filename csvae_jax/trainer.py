"""The training loop: mesh, data on device, jit, logging, periodic eval, checkpoints, resume."""

import functools
import json
import time

from absl import logging
from clu import metric_writers
from clu import parameter_overview
from clu import periodic_actions
import jax
import jax.numpy as jnp
from jax.experimental import multihost_utils
import ml_collections
import numpy as np

from csvae_jax import checkpoint
from csvae_jax import data as data_lib
from csvae_jax import losses
from csvae_jax.data import pipeline
from csvae_jax import parallel
from csvae_jax import paths
from csvae_jax import steps
from csvae_jax import switch_points
from csvae_jax import train_state as train_state_lib
from csvae_jax import trained_model


def _validate(config: ml_collections.ConfigDict) -> None:
  t = config.train
  for name in ("log_every", "eval_every", "ckpt_every"):
    if t[name] % t.steps_per_dispatch:
      raise ValueError(f"config.train.{name}={t[name]} must be a multiple of "
                       f"config.train.steps_per_dispatch={t.steps_per_dispatch}.")
  if t.num_steps <= 0 or t.batch_size <= 0:
    raise ValueError(f"config.train.num_steps ({t.num_steps}) and batch_size ({t.batch_size}) "
                     "must be positive.")
  ramp = config.loss.unlabelled_ramp_steps
  if ramp < 0 or (ramp and not config.model.infer_labels):
    raise ValueError(f"config.loss.unlabelled_ramp_steps={ramp}: a number of steps >= 0, and "
                     "more than 0 only with config.model.infer_labels=True.")
  confidence = config.loss.label_confidence
  if not 0 <= confidence < 1 or (confidence and not (
      config.model.infer_labels and config.model.missing_labels == "likeliest")):
    raise ValueError(f"config.loss.label_confidence={confidence}: a probability in [0, 1), and "
                     "more than 0 only with config.model.infer_labels=True and "
                     "config.model.missing_labels=likeliest.")


def _betas(config: ml_collections.ConfigDict) -> dict[str, float]:
  return {name: float(config.loss[name])
          for name in ("beta_x", "beta_z", "beta_w", "beta_h", "alpha", "unlabelled_ramp_steps",
                       "label_confidence")}


def make_train_chunk(spec, betas):
  """A jitted `(state, chunk, loop_rng) -> (state, metrics averaged over the chunk)` (a ratio
  over observed labels averaged over them, `steps.OBSERVED_RATIOS`).

  Runs the C steps of `chunk` ({"x": [C, B, ...], "y": [C, B, k][, "y_mask": [C, B, k]]}) in
  one `lax.scan`: a small model's step is far shorter than a Python dispatch. The state is
  donated.
  """
  step_fn = functools.partial(steps.train_step, spec=spec, betas=betas)

  def train_chunk(state, chunk, loop_rng):
    num_steps, batch_size = chunk["y"].shape[:2]
    # Every step's noise in one draw: one vectorised random-number kernel instead of several
    # small ones per step (the same values as drawing them step by step).
    noise = jax.vmap(lambda step: steps.step_noise(spec, loop_rng, step, batch_size))(
        state.step + jnp.arange(num_steps))
    if num_steps == 1:
      # XLA:CPU runs convolutions inside a while loop (even of one trip) about 25x slower than
      # outside one (measured), so image configs dispatch single steps.
      first = lambda tree: jax.tree.map(lambda a: a[0], tree)
      return step_fn(state, steps.prepare_batch(first(chunk)), first(noise))
    state, metrics = jax.lax.scan(
        lambda state, inputs: step_fn(state, steps.prepare_batch(inputs[0]), inputs[1]),
        state, (chunk, noise))
    means = jax.tree.map(jnp.mean, metrics)
    if "observed_labels" in metrics:  # each step's ratio weighed by its count of observed labels
      for key in set(steps.OBSERVED_RATIOS) & set(metrics):
        means[key] = losses.masked_mean(metrics[key], metrics["observed_labels"])
    return state, means

  return jax.jit(train_chunk, donate_argnums=0)


def _eval_examples(dataset: data_lib.Dataset) -> dict[str, np.ndarray]:
  """The split the trainer evaluates on: validation (else test), less the examples that came
  without labels (TFD's unlabelled images, whose y is all 0). Labels hidden by
  `data.label_fraction` keep their true values in y, and the evaluation reads them."""
  split = dataset.splits["validation" if "validation" in dataset.splits else "test"]
  if not dataset.traits.is_partially_labelled:
    return split
  labelled = split["y_mask"].all(axis=1)
  return {k: v[labelled] for k, v in split.items()}


def _evaluate(eval_step, state, split, batch_size: int, max_examples: int, mesh, rng):
  """Mean eval metrics over the first `max_examples` of `split`, in full batches."""
  num_batches = max(1, min(len(split["x"]), max_examples) // batch_size)
  per_process = batch_size // jax.process_count()
  totals = None
  for i in range(num_batches):
    start = i * batch_size + jax.process_index() * per_process
    batch = {k: split[k][start:start + per_process] for k in ("x", "y")}
    metrics = eval_step(state, parallel.shard_batch(batch, mesh), rng)
    totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
  return {k: float(v) / num_batches for k, v in jax.device_get(totals).items()}


def _eval_images(model: trained_model.TrainedModel, split: dict[str, np.ndarray],
                 num_examples: int = 8) -> dict[str, np.ndarray]:
  """TensorBoard images of an image model: "eval/reconstructions" [1, 2H, 8W, C] (inputs over
  their reconstructions) and, for CSVAE, "eval/w_edits" [1, kH, 5W, C] (the first input with each
  W_j set to 5 points along the diagonal through the present prior's mean), in [0, 1]."""
  x, y = split["x"][:num_examples], split["y"][:num_examples]
  x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x
  def rows(images):  # [R, C, H, W, ch] -> [1, R*H, C*W, ch]
    r, c, h, w, ch = images.shape
    return images.transpose(0, 2, 1, 3, 4).reshape(1, r * h, c * w, ch)
  out = {"eval/reconstructions": rows(np.stack([x, model.reconstruct(x, y)]))}
  if model.spec.has_w:
    spec = model.spec
    offsets = np.linspace(-2.0, 2.0, 5, dtype=np.float32)[:, None]
    points = spec.w_present_mean + offsets * np.ones((1, spec.w_dim), np.float32)  # [5, Dw]
    latents = model.encode(x[:1], y[:1])
    z, w = np.repeat(latents["z_mu"], len(points), 0), np.repeat(latents["w_mu"], len(points), 0)
    edits = []
    for j in range(spec.num_labels):
      w_j = w.reshape(len(points), spec.num_labels, spec.w_dim).copy()
      w_j[:, j] = points
      edits.append(model.decode(z, w=w_j.reshape(len(points), -1)))
    out["eval/w_edits"] = rows(np.clip(np.stack(edits), 0.0, 1.0))
  return out


def _check_finite(metrics: dict[str, np.ndarray], first_step: int, last_step: int,
                  last_saved: int | None) -> None:
  bad = sorted(name for name, value in metrics.items() if not np.isfinite(value))
  if bad:
    kept = f"step {last_saved}" if last_saved is not None else "none written yet"
    raise FloatingPointError(
        f"Non-finite {', '.join('train/' + b for b in bad)} between steps {first_step + 1} and "
        f"{last_step}; the run stopped and its last checkpoint ({kept}) is kept. Lower "
        "config.optim.*.learning_rate or set config.optim.*.grad_clip, then rerun.")


def load_dataset_once(config: ml_collections.ConfigDict) -> data_lib.Dataset:
  """`data_lib.load_dataset` on every process, prepared once: process 0 loads first (CelebA and
  TFD prepare their TFDS files into config.data_dir then) while the others wait at a barrier,
  then they load what it prepared. With a data_dir each host has to itself (a local disk), each
  host prepares its own copy after process 0. config: the `data` group."""
  if jax.process_index() == 0:
    dataset = data_lib.load_dataset(config)
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices("csvae_jax: dataset prepared by process 0")
  if jax.process_index() > 0:
    dataset = data_lib.load_dataset(config)
  return dataset


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> train_state_lib.TrainState:
  """Trains `config.model.kind` on `config.data.name`, resuming from `workdir` if it holds a run.

  Writes logs and TensorBoard summaries to `workdir` and orbax checkpoints to
  `workdir/checkpoints`. Returns the final state.
  """
  _validate(config)
  if jax.process_index() == 0:
    paths.check_workdir(workdir)
  mesh = parallel.make_mesh()
  parallel.check_batch_size(config.train.batch_size, mesh)
  if jax.default_backend() != "cpu" and config.train.steps_per_dispatch == 1:
    logging.warning("One step per dispatch leaves the %s idle between steps: image configs take "
                    "':gpu' or ':tpu' after their name (configs/image_base.py).",
                    jax.default_backend())
  logging.info("Config:\n%s", config)
  logging.info("Devices: %d (%s), processes: %d", mesh.size, jax.devices()[0].platform,
               jax.process_count())

  dataset = load_dataset_once(config.data)
  train = dataset.splits["train"]
  eval_data = _eval_examples(dataset)
  x_mean, x_std = ((train["x"].mean(0), train["x"].std(0)) if dataset.standardise else ((), ()))
  spec = train_state_lib.model_spec(
      config, x_shape=train["x"].shape[1:], num_labels=train["y"].shape[1],
      x_mean=[float(v) for v in x_mean], x_std=[float(v) for v in x_std],
      label_names=dataset.label_names, exclusive_labels=dataset.traits.exclusive)
  labelled = {name: int(np.all(split["y_mask"] > 0.5, axis=1).sum()) if "y_mask" in split
              else len(split["x"]) for name, split in dataset.splits.items()}
  logging.info("Data %s: %s examples, with every label observed %s; labels %s", config.data.name,
               {name: len(split["x"]) for name, split in dataset.splits.items()}, labelled,
               dataset.label_names)
  if labelled["train"] < len(train["x"]) and spec.takes_y and not spec.infer_labels:
    raise ValueError(
        f"{len(train['x']) - labelled['train']} training examples miss labels, and a "
        f"{spec.display_name} needs them: set config.model.infer_labels=True (q(y|x) fills them "
        "in) or config.data.unlabelled='drop' (train on the labelled examples only).")

  # The data seed of the batch order derives from config.seed too, through `data_seed`.
  init_rng, loop_rng, eval_rng = jax.random.split(jax.random.key(config.seed), 3)
  data_seed = int(np.random.SeedSequence(config.seed).generate_state(1)[0])
  state = train_state_lib.init_train_state(init_rng, config, spec, parallel.replicated(mesh))

  manager = checkpoint.make_manager(workdir, config.train.max_checkpoints)
  last_saved = manager.latest_step()
  if last_saved is not None:
    saved_config, _ = checkpoint.restore_metadata(manager, last_saved)
    checkpoint.check_compatible(saved_config, config, last_saved, manager.directory)
    state = checkpoint.restore_state(manager, last_saved, state)
    logging.info("Resumed from the checkpoint at step %d in %s", last_saved, manager.directory)
  step = int(jax.device_get(state.step))

  writer = metric_writers.create_default_writer(str(paths.resolve(workdir)),
                                                just_logging=jax.process_index() > 0)
  if step == 0:
    writer.write_hparams({k: v if isinstance(v, (bool, int, float, str)) else str(v)
                          for k, v in checkpoint.flatten(json.loads(config.to_json())).items()})
  parameter_overview.log_parameter_overview(state.vae.params, msg="Encoder/decoder parameters")
  if state.adversary is not None:
    parameter_overview.log_parameter_overview(state.adversary.params, msg="Adversary parameters")

  train_chunk = make_train_chunk(spec, _betas(config))
  eval_step = jax.jit(functools.partial(steps.eval_step, spec=spec, betas=_betas(config)))
  t = config.train
  chunks = pipeline.make_chunks(
      train, seed=data_seed, batch_size=t.batch_size, first_step=step, num_steps=t.num_steps,
      steps_per_chunk=t.steps_per_dispatch, labelled_per_batch=t.labelled_per_batch,
      process_index=jax.process_index(), process_count=jax.process_count())
  # Called once a chunk, so it triggers on explicit steps rather than every_steps.
  report_progress = periodic_actions.ReportProgress(
      num_train_steps=t.num_steps, writer=writer, every_secs=None,
      on_steps=[*range(t.log_every, t.num_steps, t.log_every), t.num_steps])
  is_first_dispatch = True
  try:
    with metric_writers.ensure_flushes(writer):
      for chunk in chunks:
        num_steps = len(chunk["y"])
        start_time = time.perf_counter()
        state, metrics = train_chunk(state, parallel.shard_batch(chunk, mesh, leading_dims=1),
                                     loop_rng)
        metrics = jax.device_get(metrics)
        elapsed = time.perf_counter() - start_time
        _check_finite(metrics, step, step + num_steps, last_saved)
        if is_first_dispatch:
          logging.info("Steps %d-%d took %.1f s, compilation included.", step + 1,
                       step + num_steps, elapsed)
        step += num_steps
        report_progress(step)
        is_last = step == t.num_steps
        if step % t.log_every == 0 or is_last:
          scalars = {f"train/{name}": value for name, value in metrics.items()}
          if not is_first_dispatch:
            scalars["train/examples_per_sec"] = num_steps * t.batch_size / elapsed
          writer.write_scalars(step, scalars)
        is_first_dispatch = False
        evaluate, save = step % t.eval_every == 0 or is_last, step % t.ckpt_every == 0 or is_last
        if evaluate or save:  # this process's copy of the encoder/decoder, for numpy inference
          model = trained_model.TrainedModel(
              spec=spec, params=jax.device_get(state.vae.params), adversary_params=None,
              config=config, step=step, workdir=workdir)
        if evaluate:
          eval_metrics = _evaluate(eval_step, state, eval_data, t.batch_size,
                                   config.eval.max_examples, mesh, eval_rng)
          writer.write_scalars(step, {f"eval/{k}": v for k, v in eval_metrics.items()})
          if spec.is_image:
            writer.write_images(step, _eval_images(model, eval_data))
        if save:
          points = switch_points.compute(model.encode, spec, dataset.splits,
                                         config.eval.probe_max_train, step)
          checkpoint.save(manager, step, state, config, spec, points)
          logging.info("Saving the checkpoint of step %d (asynchronously).", step)
          last_saved = step
  finally:
    manager.wait_until_finished()
    manager.close()
  return state
