"""The attribute classifier C of the paper's Method 1 (5.4), trained once per dataset and kept.

  clf = classifier.load_or_train(config, "runs/procedural/classifier")
  probs = clf.predict(images)["labels"]   # [B, k]: sigmoid per attribute, or softmax (TFD)

C is a conv net on the real training images of the model's dataset. Where the data carry the
generator's style of each attribute (the procedural faces), it also has one style head per
attribute, trained on the examples that have it: the ground truth for counting the distinct styles
that a model's edits reach.
"""

import dataclasses
import functools
import hashlib
import json
import time
from typing import Any, Optional

from absl import logging
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from csvae_jax import batching
from csvae_jax import data as data_lib
from csvae_jax import models
from csvae_jax import paths

PARAMS_FILE = "params.msgpack"
INFO_FILE = "classifier.json"


class Classifier(nn.Module):
  """Conv trunk, one hidden layer, then label logits [B, k] and style logits per attribute."""
  channels: tuple[int, ...]
  num_labels: int
  num_styles: tuple[int, ...] = ()  # styles per attribute; () when the data have none

  @nn.compact
  def __call__(self, x: jax.Array) -> dict[str, Any]:
    """x: float32 [B, H, W, C] in [0, 1] -> {"labels": [B, k], "styles": ([B, n_j] per j)}."""
    h = models.ConvTrunk(self.channels)(x)
    h = nn.relu(nn.Dense(256)(h))
    return {"labels": nn.Dense(self.num_labels)(h),
            "styles": tuple(nn.Dense(n)(h) for n in self.num_styles)}


def style_labels(split: dict[str, np.ndarray], label_names) -> Optional[np.ndarray]:
  """The generator's style of each attribute, int32 [N, k] (-1 where absent); None if unknown."""
  keys = [f"factor/{name}_style" for name in label_names]
  if not all(k in split for k in keys):
    return None
  styles = np.stack([split[k] for k in keys], 1).astype(np.int32)
  return np.where(split["y"] > 0.5, styles, -1)


def _loss(params, net, exclusive, x, y, styles):
  """Mean cross-entropy of the labels plus, where present, of each attribute's style."""
  out = net.apply({"params": params}, x.astype(jnp.float32) / 255.0)
  if exclusive:
    loss = optax.softmax_cross_entropy(out["labels"], y).mean()
  else:
    loss = optax.sigmoid_binary_cross_entropy(out["labels"], y).mean()
  for j, logits in enumerate(out["styles"]):
    known = styles[:, j] >= 0
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(styles[:, j], 0))
    loss += jnp.sum(jnp.where(known, ce, 0.0)) / jnp.maximum(known.sum(), 1)
  return loss


@dataclasses.dataclass(frozen=True)
class TrainedClassifier:
  """C with its parameters; `metrics` holds its own accuracy on the test split."""
  params: Any
  net: Classifier
  exclusive: bool        # mutually exclusive labels (TFD): softmax rather than sigmoids
  label_names: tuple[str, ...]
  metrics: dict[str, float]

  @property
  def fingerprint(self) -> str:
    """SHA-256 of the serialized parameters, each dict's keys sorted as in the `params.msgpack`
    kept (a trained tree's order; `init` returns another): equal for tables scored by the same
    judge, trained or loaded, and different for one retrained on another machine."""
    return hashlib.sha256(flax.serialization.to_bytes(jax.tree.map(np.asarray, self.params))
                          ).hexdigest()

  def predict(self, x: np.ndarray, batch_size: int = 512) -> dict[str, np.ndarray]:
    """x: uint8 [B, H, W, C] -> {"labels": float32 [B, k] probabilities, "styles": int32 [B, k]
    (each attribute's likeliest style; 0 where the data have no styles)}."""
    labels, styles = batching.map_batches(
        functools.partial(_predict, self.net, self.exclusive, self.params), x,
        batch_size=batch_size)
    return {"labels": labels, "styles": styles}

  def predicted_labels(self, x: np.ndarray) -> np.ndarray:
    """int32 [B] class indices (exclusive labels) or [B, k] in {0, 1}."""
    probs = self.predict(x)["labels"]
    return probs.argmax(1).astype(np.int32) if self.exclusive else (probs > 0.5).astype(np.int32)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _predict(net, exclusive, params, x):
  out = net.apply({"params": params}, x.astype(jnp.float32) / 255.0)
  probs = jax.nn.softmax(out["labels"]) if exclusive else jax.nn.sigmoid(out["labels"])
  if not net.num_styles:
    return probs, jnp.zeros(probs.shape, jnp.int32)
  return probs, jnp.stack([jnp.argmax(s, -1) for s in out["styles"]], 1).astype(jnp.int32)


def _accuracy(clf: TrainedClassifier, split: dict[str, np.ndarray]) -> dict[str, float]:
  """Test accuracy of the labels (exact class for exclusive labels, else mean over attributes) and
  of the styles on the examples that have the attribute."""
  predicted = clf.predicted_labels(split["x"])
  if clf.exclusive:
    metrics = {"label_accuracy": float(np.mean(predicted == split["y"].argmax(1)))}
  else:
    metrics = {"label_accuracy": float(np.mean(predicted == split["y"]))}
    for j, name in enumerate(clf.label_names):
      metrics[f"label_accuracy/{name}"] = float(np.mean(predicted[:, j] == split["y"][:, j]))
  truth = style_labels(split, clf.label_names)
  if truth is not None:
    styles = clf.predict(split["x"])["styles"]
    for j, name in enumerate(clf.label_names):
      known = truth[:, j] >= 0
      metrics[f"style_accuracy/{name}"] = float(np.mean(styles[known, j] == truth[known, j]))
  return metrics


def train(config: ml_collections.ConfigDict, splits: dict[str, dict[str, np.ndarray]],
          label_names, exclusive: bool, seed: int, num_styles: tuple[int, ...] = ()
          ) -> TrainedClassifier:
  """Fits C on splits["train"] (uint8 images) with Adam for config.eval.classifier_steps steps of
  config.eval.classifier_batch_size, and measures it on splits["test"]. `seed` draws the
  initialisation and the batches; `num_styles` (each label's styles, where the data know them:
  `data.Traits.num_styles`) adds the style heads."""
  train_split = splits["train"]
  styles = style_labels(train_split, label_names) if num_styles else None
  num_styles = num_styles if styles is not None else ()
  net = Classifier(tuple(config.eval.classifier_channels), len(label_names), num_styles)
  params = models.jit_init(net.init)(jax.random.key(seed),
                                     jnp.zeros((1, *train_split["x"].shape[1:])))["params"]
  optimizer = optax.adam(config.eval.classifier_learning_rate)
  opt_state = optimizer.init(params)
  styles = np.full(train_split["y"].shape, -1, np.int32) if styles is None else styles

  @jax.jit
  def step(params, opt_state, x, y, s):
    loss, grads = jax.value_and_grad(_loss)(params, net, exclusive, x, y, s)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(seed)
  n, batch = len(train_split["x"]), config.eval.classifier_batch_size
  num_steps, start = config.eval.classifier_steps, time.perf_counter()
  for i in range(num_steps):
    idx = rng.integers(0, n, batch)
    params, opt_state, loss = step(params, opt_state, train_split["x"][idx],
                                   train_split["y"][idx], styles[idx])
    if (i + 1) % 250 == 0 or i + 1 == num_steps:
      elapsed = time.perf_counter() - start
      logging.info("Classifier step %d/%d: loss %.4f, %.0f s, ETA %.0f s", i + 1, num_steps,
                   float(loss), elapsed, elapsed / (i + 1) * (num_steps - i - 1))
  clf = TrainedClassifier(params, net, exclusive, tuple(label_names), {})
  return dataclasses.replace(clf, metrics=_accuracy(clf, splits["test"]))


def _identity(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """What decides the classifier: the data (not where they are stored, nor which labels a model
  sees: it learns every label the data know) and its own settings."""
  data = {k: v for k, v in config.data.to_dict().items()
          if k not in data_lib.LOCATION_FIELDS + data_lib.LABELLING_FIELDS}
  if data_lib.traits(config.data).is_partially_labelled and config.data.unlabelled != "pseudo":
    data["pseudo_labelled"] = False  # TFD without pseudo-labels deals other splits (judges of the
                                     # pseudo-labelled data, saved before this field, still match)
  settings = {k: v for k, v in config.eval.to_dict().items() if k.startswith("classifier")}
  return json.loads(json.dumps({"data": data, "classifier": settings}))


def load_or_train(config: ml_collections.ConfigDict, directory: str,
                  splits: Optional[dict[str, dict[str, np.ndarray]]] = None,
                  label_names=(), exclusive: bool = False, num_styles: tuple[int, ...] = ()
                  ) -> TrainedClassifier:
  """The classifier kept in `directory`, trained there first if the directory holds none.

  Raises:
    ValueError: if `directory` holds a classifier of other data or settings (it is left alone),
      or none and `splits` is None.
  """
  folder = paths.resolve(directory)
  identity = _identity(config)
  if (folder / INFO_FILE).exists():
    info = json.loads((folder / INFO_FILE).read_text())
    if info["identity"] != identity:
      differ = [f"{group}.{k}: {info['identity'][group].get(k)!r} there, {v!r} here"
                for group, fields in identity.items() for k, v in fields.items()
                if info["identity"][group].get(k) != v]
      raise ValueError(f"{directory} holds a classifier of other data or settings ("
                       f"{'; '.join(differ)}); pass another --classifier_dir, or remove that "
                       "one to retrain it.")
    net = Classifier(tuple(info["channels"]), len(info["label_names"]), tuple(info["num_styles"]))
    template = jax.eval_shape(net.init, jax.random.key(0),
                              jnp.zeros((1, *info["x_shape"])))["params"]
    params = flax.serialization.from_bytes(template, (folder / PARAMS_FILE).read_bytes())
    logging.info("Loaded the attribute classifier in %s: %s", directory, info["metrics"])
    return TrainedClassifier(params, net, info["exclusive"], tuple(info["label_names"]),
                             info["metrics"])
  if splits is None:
    raise ValueError(f"{directory} holds no classifier to load; pass the dataset's splits to "
                     "train one there.")
  logging.info("Training the attribute classifier into %s (once; later evals reuse it).", directory)
  clf = train(config, splits, label_names, exclusive, config.data.seed, tuple(num_styles))
  logging.info("Classifier test accuracy: %s", clf.metrics)
  folder.mkdir(parents=True, exist_ok=True)
  info = {"identity": identity, "channels": list(clf.net.channels),
          "num_styles": list(clf.net.num_styles), "label_names": list(clf.label_names),
          "exclusive": exclusive, "x_shape": list(splits["train"]["x"].shape[1:]),
          "metrics": clf.metrics}
  paths.write_atomic(folder / PARAMS_FILE, flax.serialization.to_bytes(clf.params))
  paths.write_atomic(folder / INFO_FILE, json.dumps(info, indent=2))
  return clf
