"""A trained model as a user holds it: `load(workdir)`, then numpy in, numpy out, in data units."""

import dataclasses
import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from csvae_jax import batching
from csvae_jax import checkpoint
from csvae_jax import data as data_lib
from csvae_jax import models
from csvae_jax import paths
from csvae_jax import switch_points as switch_points_lib
from csvae_jax import train_state as train_state_lib


@functools.partial(jax.jit, static_argnames="spec")
def _encode(spec, params, x, y):
  return models.LatentModel(spec).apply({"params": params}, x, y, method=models.LatentModel.encode)


@functools.partial(jax.jit, static_argnames="spec")
def _decode(spec, params, z, w, y):
  x_mu, _ = models.LatentModel(spec).apply({"params": params}, z, w, y,
                                          method=models.LatentModel.decode)
  return jax.nn.sigmoid(x_mu) if spec.likelihood == "bernoulli" else x_mu


@functools.partial(jax.jit, static_argnames="spec")
def _classify(spec, params, x):
  logits = models.LatentModel(spec).apply({"params": params}, x,
                                          method=models.LatentModel.classify)
  return jax.nn.softmax(logits) if spec.exclusive_labels else jax.nn.sigmoid(logits)


@functools.partial(jax.jit, static_argnames="spec")
def _infer_labels(spec, params, x):
  return models.likeliest_labels(spec, models.LatentModel(spec).apply(
      {"params": params}, x, method=models.LatentModel.classify))


@functools.partial(jax.jit, static_argnames="spec")
def _adversary(spec, params, z):
  net = models.Adversary(spec.adversary_hidden, spec.num_labels, jnp.dtype(spec.compute_dtype))
  return jax.nn.sigmoid(net.apply({"params": params}, z))


BATCH_SIZE = 256  # Examples per compiled call: bounds the memory of encoding a large set.


def _batched(fn, *arrays):
  return batching.map_batches(fn, *arrays, batch_size=BATCH_SIZE)


@dataclasses.dataclass(frozen=True)
class TrainedModel:
  """A model restored from a workdir.

  Synopsis:
    model = csvae_jax.load("/tmp/swiss_roll")
    latents = model.encode(x, y)          # {"z_mu", "z_logvar", "w_mu", "w_logvar"}: [B, ...]
    x_hat = model.reconstruct(x, y)       # [B, D], in the data's units
    x_new = model.decode(latents["z_mu"], w=latents["w_mu"])
  """
  spec: models.ModelSpec
  params: Any                      # encoder/decoder params
  adversary_params: Optional[Any]  # q_delta(y|z) or r(y|z); None for VAE and CondVAE
  config: ml_collections.ConfigDict
  step: int
  workdir: str
  switch_points: Optional[switch_points_lib.SwitchPoints] = None  # the edits' default points

  def _labels(self, y, batch: int) -> np.ndarray:
    y = np.asarray(y, np.float32)
    y = y.reshape(batch, -1) if y.ndim <= 1 else y
    if y.shape != (batch, self.spec.num_labels):
      raise ValueError(f"y has shape {y.shape}; expected [{batch}, {self.spec.num_labels}] "
                       f"(labels {', '.join(self.spec.label_names)}).")
    return y

  def _data(self, x) -> np.ndarray:
    """One example or a batch, as float32 [B, *x_shape]; uint8 images become [0, 1]."""
    x = np.asarray(x)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    x = x[None] if x.shape == self.spec.x_shape else x
    if x.shape[1:] != self.spec.x_shape:
      raise ValueError(f"x has shape {x.shape}; this model takes [B, "
                       f"{', '.join(map(str, self.spec.x_shape))}] or one example.")
    return x

  def encode(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior parameters of x [B, *x_shape] (or one example) with labels y [B, k] (0/1; [B] if
    k = 1). Images may be uint8 in [0, 255] or float in [0, 1].

    Returns {"z_mu", "z_logvar": [B, Dz]} plus, for CSVAE, {"w_mu", "w_logvar": [B, k*Dw]}.
    """
    x = self._data(x)
    return _batched(functools.partial(_encode, self.spec, self.params), x,
                    self._labels(y, x.shape[0]))

  def decode(self, z: np.ndarray, w: Optional[np.ndarray] = None,
             y: Optional[np.ndarray] = None) -> np.ndarray:
    """The decoder's mean [B, *x_shape] in data units, from z [B, Dz] and w [B, k*Dw] (CSVAE) or
    y [B, k] (CondVAE, CondVAE-info; values in [0, 1] or any switching point p)."""
    z = np.asarray(z, np.float32)
    if self.spec.has_w and w is None:
      raise ValueError("A CSVAE decodes from z and w: pass w ([B, k*Dw]).")
    if self.spec.decodes_y and y is None:
      raise ValueError(f"A {self.spec.kind} decodes from z and y: pass y ([B, k]).")
    w = None if w is None else np.asarray(w, np.float32)
    y = None if y is None else self._labels(y, z.shape[0])
    return _batched(functools.partial(_decode, self.spec, self.params), z, w, y)

  def reconstruct(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Decodes the posterior means of x [B, *x_shape] with labels y: [B, *x_shape], data units."""
    latents = self.encode(x, y)
    return self.decode(latents["z_mu"], latents.get("w_mu"), y)

  def label_probabilities(self, x: np.ndarray) -> np.ndarray:
    """q(y | x) of a model that infers labels: x [B, *x_shape] (or one example) -> [B, k]
    (each label's probability, or the classes' for exclusive labels)."""
    self._check_infers_labels()
    return _batched(functools.partial(_classify, self.spec, self.params), self._data(x))

  def infer_labels(self, x: np.ndarray) -> np.ndarray:
    """The labels q(y|x) gives x: float32 [B, k] in {0, 1} (the likeliest class, one-hot, for
    exclusive labels)."""
    self._check_infers_labels()
    return _batched(functools.partial(_infer_labels, self.spec, self.params), self._data(x))

  def _check_infers_labels(self) -> None:
    if not self.spec.infer_labels:
      raise ValueError(f"This {self.spec.display_name} has no q(y|x): give the labels, or train "
                       "with config.model.infer_labels=True.")

  def predict_labels_from_z(self, z: np.ndarray) -> np.ndarray:
    """The adversary's probabilities q(y_i = 1 | z): z [B, Dz] -> [B, k]."""
    if self.adversary_params is None:
      raise ValueError(f"A {self.spec.kind} has no adversary.")
    return _batched(functools.partial(_adversary, self.spec, self.adversary_params),
                    np.asarray(z, np.float32))


def _open(workdir: str, step: Optional[int]) -> tuple[Any, int]:
  """(read-only checkpoint manager of `workdir`, the step to load: `step` or the latest)."""
  directory = paths.resolve(workdir) / "checkpoints"
  manager = checkpoint.make_manager(workdir, read_only=True) if directory.exists() else None
  found = None if manager is None else (manager.latest_step() if step is None else step)
  if found is None or found not in manager.all_steps():
    raise FileNotFoundError(
        f"No checkpoint{'' if step is None else f' at step {step}'} in {directory}; "
        "train first: python train.py --config CONFIG --workdir " + workdir)
  return manager, found


def _saved_config(manager, step: int, workdir: str) -> tuple[ml_collections.ConfigDict,
                                                             models.ModelSpec]:
  """(the config saved with `step`, its data found inside `workdir` where they were inside the
  workdir it was trained in (`checkpoint.relocate`) and the labelling fields it predates set as
  they were then (`data.with_label_defaults`), the model spec)."""
  config_dict, spec = checkpoint.restore_metadata(manager, step)
  config = checkpoint.relocate(ml_collections.ConfigDict(config_dict),
                               checkpoint.restore_locations(manager, step), workdir)
  config.data = data_lib.with_label_defaults(config.data)
  return config, spec


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config of the latest checkpoint in `workdir`, as `load` gives it with the model.

  Raises:
    FileNotFoundError: if `workdir` holds no checkpoint.
  """
  manager, step = _open(workdir, None)
  config, _ = _saved_config(manager, step, workdir)
  manager.close()
  return config


def load(workdir: str, step: Optional[int] = None) -> TrainedModel:
  """The model saved in `workdir` (its latest checkpoint, or `step`); no config file needed.

  Raises:
    FileNotFoundError: if `workdir` holds no checkpoint.
  """
  manager, step = _open(workdir, step)
  config, spec = _saved_config(manager, step, workdir)
  abstract = jax.eval_shape(functools.partial(train_state_lib.create_train_state,
                                              config=config, spec=spec), jax.random.key(0))
  # Onto this process's first device, whatever mesh the checkpoint was written from.
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device),
                          abstract)
  state = checkpoint.restore_state(manager, step, abstract)
  points = checkpoint.restore_switch_points(manager, step)
  manager.close()
  return TrainedModel(spec=spec, params=state.vae.params,
                      adversary_params=state.adversary.params if state.adversary else None,
                      config=config, step=step, workdir=workdir, switch_points=points)
