"""Evaluation of a trained model on its dataset's held-out split: reconstruction, label probes on
the latent spaces, the adversary's accuracy, the paper's Figure 2 for vector data and, for images,
its Tables 1 and 2 with the figures of attribute manipulation."""

import dataclasses
import json
import os
import time
from typing import Optional

from absl import logging
import ml_collections
import numpy as np
from sklearn import linear_model
from sklearn import metrics as sk_metrics
from sklearn import pipeline
from sklearn import preprocessing

from csvae_jax import checkpoint
from csvae_jax import classifier as classifier_lib
from csvae_jax import data as data_lib
from csvae_jax import paper_figures
from csvae_jax import switching
from csvae_jax import paths
from csvae_jax import plots
from csvae_jax import table_markdown
from csvae_jax import switch_points
from csvae_jax import tables
from csvae_jax import trained_model


def probe_accuracy(train_features: np.ndarray, train_y: np.ndarray,
                   test_features: np.ndarray, test_y: np.ndarray) -> float:
  """Balanced accuracy of a logistic-regression probe (on standardised features) of one label.

  Args:
    train_features, test_features: [N, F] latent means. train_y, test_y: [N] in {0, 1}.
  """
  probe = pipeline.make_pipeline(preprocessing.StandardScaler(),
                                 linear_model.LogisticRegression(max_iter=1000))
  probe.fit(train_features, train_y)
  return float(sk_metrics.balanced_accuracy_score(test_y, probe.predict(test_features)))


def _probes(name: str, train_features, train_y, test_features, test_y, label_names,
            per_label_features: bool = False) -> dict[str, float]:
  """`name` (the mean over labels) and, for k > 1, `name/<label>`: probes of each label on the
  latent means [N, F], or with `per_label_features` on label j's own block of F // k columns."""
  width = train_features.shape[1] // len(label_names)
  scores = {}
  for j, label in enumerate(label_names):
    block = slice(j * width, (j + 1) * width) if per_label_features else slice(None)
    scores[f"{name}/{label}"] = probe_accuracy(train_features[:, block], train_y[:, j],
                                               test_features[:, block], test_y[:, j])
  mean = {name: float(np.mean(list(scores.values())))}
  return {**mean, **scores} if len(label_names) > 1 else mean


def label_inference_accuracy(inferred: np.ndarray, y: np.ndarray, exclusive: bool,
                             label_names) -> dict[str, float]:
  """q(y|x)'s accuracy: inferred and y [N, k] in {0, 1}. Exclusive labels score the share of
  examples whose class it gets; others the mean over labels, and for k > 1 each label's as
  `label_inference_accuracy/<label>`."""
  if exclusive:
    return {"label_inference_accuracy": float(np.mean(np.all(inferred == y, axis=1)))}
  per_label = np.mean(inferred == y, axis=0)
  scores = {"label_inference_accuracy": float(per_label.mean())}
  if len(label_names) > 1:
    scores.update({f"label_inference_accuracy/{name}": float(a)
                   for name, a in zip(label_names, per_label)})
  return scores


def _write(out_dir: str, name: str, table: dict, markdown: str = "") -> None:
  folder = paths.resolve(out_dir)
  (folder / (name + ".json")).write_text(json.dumps(table, indent=2))
  if markdown:
    (folder / (name + ".md")).write_text(markdown)


# The split whose pairs and examples choose the points of the tables scored on a split: choices
# for test tables on validation, for the validation tables that choose settings on train.
SEARCH_SPLIT = {"test": "validation", "validation": "train"}


def file_suffix(split: str) -> str:
  """File-name suffix of an output scored on `split`: none for test, "_validation" otherwise."""
  return "" if split == "test" else f"_{split}"


def write_tables(config: ml_collections.ConfigDict, model: trained_model.TrainedModel,
                 dataset: data_lib.Dataset, out_dir: str, classifier_dir: str,
                 split: str = "test") -> dict:
  """The paper's Tables 1 and 2 for an image model, scored on `split` with their points chosen on
  `SEARCH_SPLIT[split]`: `table1.{md,json}`, `table2.{md,json}` (data with identities) and
  `styles.json` (data with known styles: `tables.style_coverage` of each attribute) in `out_dir`,
  each name followed by `_validation` for the validation split. The classifier is loaded from
  `classifier_dir`, or trained there once. Every file is written once all are computed, Table 1
  last: its presence for a step means the evaluation finished (`experiment.train_and_tables`
  resumes from it).

  Returns:
    {"table1": ..., "table2": ..., "styles": ...} as written (the latter two where they apply).
  """
  traits = dataset.traits
  splits = dataset.splits
  if split not in SEARCH_SPLIT or split not in splits:
    raise ValueError(f"Unknown split {split!r} for the tables; valid: "
                     f"{', '.join(s for s in SEARCH_SPLIT if s in splits)}.")
  clf = classifier_lib.load_or_train(config, classifier_dir, splits, dataset.label_names,
                                     traits.exclusive, traits.num_styles)
  search_name = SEARCH_SPLIT[split] if SEARCH_SPLIT[split] in splits else split
  scored, search = splits[split], splits[search_name]
  edit = tables.model_edit(model, traits.exclusive)
  meta = {"dataset": traits.title, "model": model.spec.kind, "seed": config.seed,
          "data_seed": config.data.seed, "step": model.step, "split": split,
          "search_split": search_name, "classifier": clf.metrics,
          "classifier_sha256": clf.fingerprint}
  start = time.perf_counter()
  def reconstruct(x, y):
    return switching.to_uint8(model.reconstruct(x, y))
  suffix = file_suffix(split)
  # Configs saved before these fields existed evaluated with these values.
  sizes = {k: config.eval.get(k, v) for k, v in (("search_examples", 256), ("search_pairs", 128),
                                                 ("pairs", 256))}
  out = {"table1": {**meta, **tables.method1(clf, scored, edit, config.eval.max_examples,
                                             reconstruct, model, search,
                                             sizes["search_examples"])}}
  logging.info("Table 1 (Method 1) done in %.0f s.", time.perf_counter() - start)
  if tables.has_identities(scored, traits) and tables.has_identities(search, traits):
    out["table2"] = {**meta, **tables.method2(model, search, scored, traits, edit, sizes["pairs"],
                                              sizes["search_pairs"])}
    logging.info("Table 2 (Method 2) done, %.0f s so far.", time.perf_counter() - start)
  if clf.net.num_styles:
    out["styles"] = {**meta, **{
        attribute: tables.style_coverage(clf, scored, j, tables.style_points(model, j, search),
                                         edit)
        for j, attribute in enumerate(dataset.label_names)}}
    logging.info("Styles reached done, %.0f s so far.", time.perf_counter() - start)
  if "table2" in out:
    _write(out_dir, "table2" + suffix, out["table2"], table_markdown.table2(out["table2"]))
  if "styles" in out:
    _write(out_dir, "styles" + suffix, out["styles"])
  _write(out_dir, "table1" + suffix, out["table1"], table_markdown.table1(out["table1"]))
  return out


def evaluate(config: Optional[ml_collections.ConfigDict], workdir: str,
             classifier_dir: str = "", split: str = "test") -> dict[str, float]:
  """Evaluates the latest checkpoint in `workdir` with the config it was trained with (`config`
  None), or with `config`, whose model and data fields must match the checkpoint's (its eval
  settings may differ). Checkpoints written before the switch points were kept with them get them
  computed here (`scripts/add_switch_points.py` stores them for editing).

  Scores `split` (test; validation to choose settings): writes `workdir/eval/metrics.json`
  (`metrics_validation.json`) and a figure: `workdir/eval/latent_projections.png` for
  3-D data (the paper's Figure 2), `workdir/eval/reconstructions.png` for images. Image models
  also get the paper's tables (`write_tables`; the classifier kept in `classifier_dir`, by default
  `workdir/classifier`) and, for CSVAE, the style figures of `paper_figures.style_figures`.

  Metrics on `split`: `recon_mse` (mean over coordinates, data units), `relative_recon_mse`
  (per-coordinate MSE over the data's per-coordinate variance, averaged), `z_label_probe_accuracy`,
  `w_label_probe_accuracy` (CSVAE only; balanced accuracy of a logistic regression fitted on
  training-set latent means), `w_j_label_probe_accuracy` (CSVAE; label j from W_j alone), each
  averaged over labels and, for k > 1, per label as `<metric>/<label>`;
  `w_j_label_withheld_probe_accuracy` (CSVAE; label j from W_j encoded with every label given as
  0, so that the prior's offset cannot carry it: with `model.w_prior_centred` the plain W_j probe
  is 1.0 by construction, even untrained); `label_inference_accuracy` (models that infer labels:
  q(y|x)'s accuracy, per label and averaged; for exclusive labels the share of examples whose
  class it gets); `adversary_accuracy` (kinds with an adversary, on z means).

  Raises:
    ValueError: for a `split` the data lack (the swiss roll has no validation split).
  """
  model = trained_model.load(workdir)
  if config is None:
    config = model.config
  else:
    checkpoint.check_compatible(model.config.to_dict(), config, model.step, workdir,
                                fix="Leave out --config to evaluate with the checkpoint's own.")
  dataset = data_lib.load_evaluation_dataset(config.data)
  splits = dataset.splits
  if split not in splits:
    raise ValueError(f"{dataset.traits.title} has no {split} split; valid: "
                     f"{', '.join(s for s in splits if s != 'train')}.")
  if switch_points.incomplete(model.switch_points, model.spec):  # an older checkpoint: for now
    model = dataclasses.replace(model, switch_points=switch_points.compute(
        model.encode, model.spec, splits, config.eval.probe_max_train, model.step))
  train, test = splits["train"], splits[split]
  train = {k: v[:config.eval.probe_max_train] for k, v in train.items()}
  logging.info("Evaluating %s at step %d on the %s split: probes, then figures%s.", workdir,
               model.step, split, " and tables" if model.spec.is_image else "")
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
      "data_seed": config.data.seed,
      "split": split,
      "model": model.spec.kind,
      "recon_mse": float(mse.mean()),
      "relative_recon_mse": float(np.mean(mse / x_flat.var(axis=0))),
      **_probes("z_label_probe_accuracy", train_latents["z_mu"], train["y"],
                test_latents["z_mu"], test["y"], dataset.label_names),
  }
  if model.spec.has_w:
    results.update(_probes("w_label_probe_accuracy", train_latents["w_mu"], train["y"],
                           test_latents["w_mu"], test["y"], dataset.label_names))
    results.update(_probes("w_j_label_probe_accuracy", train_latents["w_mu"], train["y"],
                           test_latents["w_mu"], test["y"], dataset.label_names,
                           per_label_features=True))
    withheld = [model.encode(s["x"], np.zeros_like(s["y"]))["w_mu"] for s in (train, test)]
    results.update(_probes("w_j_label_withheld_probe_accuracy", withheld[0], train["y"],
                           withheld[1], test["y"], dataset.label_names, per_label_features=True))
  if model.spec.infer_labels:
    results.update(label_inference_accuracy(model.infer_labels(test["x"]), test["y"],
                                            model.spec.exclusive_labels, dataset.label_names))
  if model.adversary_params is not None:
    probs = model.predict_labels_from_z(test_latents["z_mu"])
    results["adversary_accuracy"] = float(np.mean((probs > 0.5) == (test["y"] > 0.5)))

  out_dir = os.path.join(workdir, "eval")
  paths.resolve(out_dir).mkdir(parents=True, exist_ok=True)
  suffix = file_suffix(split)
  (paths.resolve(out_dir) / f"metrics{suffix}.json").write_text(json.dumps(results, indent=2))
  title = f"{model.spec.kind} on {config.data.name}, step {model.step}, {split} split"
  if model.spec.is_image:
    plots.plot_reconstructions(os.path.join(out_dir, f"reconstructions{suffix}.png"),
                               x_flat[:32].reshape(-1, *model.spec.x_shape),
                               x_hat[:32].reshape(-1, *model.spec.x_shape), title)
    if model.spec.has_w and split == "test":
      paper_figures.style_figures(model, test, out_dir)
    write_tables(config, model, dataset, out_dir,
                 classifier_dir or os.path.join(workdir, "classifier"), split)
  elif x_flat.shape[1] == 3:
    names = [f"z{i + 1}" for i in range(model.spec.z_dim)]
    latents = [test_latents["z_mu"]]
    if model.spec.has_w:
      names += [f"w{i + 1}" for i in range(test_latents["w_mu"].shape[1])]
      latents.append(test_latents["w_mu"])
    plots.plot_latent_projections(
        os.path.join(out_dir, f"latent_projections{suffix}.png"), x_flat, x_hat,
        np.concatenate(latents, axis=1), names, test["y"][:, 0], title)
  logging.info("Eval of %s at step %d: %s", workdir, model.step, json.dumps(results))
  return results
