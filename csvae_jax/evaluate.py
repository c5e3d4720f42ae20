"""Evaluation of a trained model on its dataset's held-out split: reconstruction, label probes on
the latent spaces, the adversary's accuracy, and the paper's Figure 2 for vector data."""

import json
import os

from absl import logging
import ml_collections
import numpy as np
from sklearn import linear_model
from sklearn import metrics as sk_metrics
from sklearn import pipeline
from sklearn import preprocessing

from csvae_jax import data as data_lib
from csvae_jax import manipulate
from csvae_jax import plots
from csvae_jax import trained_model


def probe_accuracy(train_features: np.ndarray, train_y: np.ndarray,
                   test_features: np.ndarray, test_y: np.ndarray) -> float:
  """Balanced accuracy of logistic-regression probes (on standardised features), averaged over
  the k labels.

  Args:
    train_features, test_features: [N, F] latent means. train_y, test_y: [N, k] in {0, 1}.
  """
  scores = []
  for i in range(train_y.shape[1]):
    probe = pipeline.make_pipeline(preprocessing.StandardScaler(),
                                   linear_model.LogisticRegression(max_iter=1000))
    probe.fit(train_features, train_y[:, i])
    scores.append(sk_metrics.balanced_accuracy_score(test_y[:, i], probe.predict(test_features)))
  return float(np.mean(scores))


def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Writes `workdir/eval/metrics.json` and a figure: `workdir/eval/latent_projections.png` for
  3-D data (the paper's Figure 2), `workdir/eval/reconstructions.png` for images.

  Metrics on the test split: `recon_mse` (mean over coordinates, data units), `relative_recon_mse`
  (per-coordinate MSE over the data's per-coordinate variance, averaged), `z_label_probe_accuracy`,
  `w_label_probe_accuracy` (CSVAE only; balanced accuracy of a logistic regression fitted on
  training-set latent means), `adversary_accuracy` (kinds with an adversary, on z means).
  """
  model = trained_model.load(workdir)
  splits = data_lib.load_dataset(config.data).splits
  train, test = splits["train"], splits["test"]
  train = {k: v[:config.eval.probe_max_train] for k, v in train.items()}
  train_latents = model.encode(train["x"], train["y"])
  test_latents = model.encode(test["x"], test["y"])
  x_hat = model.reconstruct(test["x"], test["y"])
  x_flat = test["x"].reshape(len(test["x"]), -1)
  if test["x"].dtype == np.uint8:
    x_flat = x_flat.astype(np.float32) / 255.0
  x_hat = x_hat.reshape(x_flat.shape)
  mse = np.mean((x_hat - x_flat) ** 2, axis=0)
  results = {
      "step": model.step,
      "seed": config.seed,
      "model": model.spec.kind,
      "recon_mse": float(mse.mean()),
      "relative_recon_mse": float(np.mean(mse / x_flat.var(axis=0))),
      "z_label_probe_accuracy": probe_accuracy(train_latents["z_mu"], train["y"],
                                               test_latents["z_mu"], test["y"]),
  }
  if model.spec.has_w:
    results["w_label_probe_accuracy"] = probe_accuracy(train_latents["w_mu"], train["y"],
                                                       test_latents["w_mu"], test["y"])
  if model.adversary_params is not None:
    probs = model.predict_labels_from_z(test_latents["z_mu"])
    results["adversary_accuracy"] = float(np.mean((probs > 0.5) == (test["y"] > 0.5)))

  out_dir = os.path.join(workdir, "eval")
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "metrics.json"), "w") as f:
    json.dump(results, f, indent=2)
  title = f"{model.spec.kind} on {config.data.name}, step {model.step}"
  if model.spec.is_image:
    plots.plot_reconstructions(os.path.join(out_dir, "reconstructions.png"),
                               x_flat[:32].reshape(-1, *model.spec.x_shape),
                               x_hat[:32].reshape(-1, *model.spec.x_shape), title)
    if model.spec.has_w:
      manipulate.style_figures(model, test, out_dir)
  elif x_flat.shape[1] == 3:
    names = [f"z{i + 1}" for i in range(model.spec.z_dim)]
    latents = [test_latents["z_mu"]]
    if model.spec.has_w:
      names += [f"w{i + 1}" for i in range(test_latents["w_mu"].shape[1])]
      latents.append(test_latents["w_mu"])
    plots.plot_latent_projections(
        os.path.join(out_dir, "latent_projections.png"), x_flat, x_hat,
        np.concatenate(latents, axis=1), names, test["y"][:, 0], title)
  logging.info("Eval of %s at step %d: %s", workdir, model.step, json.dumps(results))
  return results
