"""Pseudo-labels (paper 5.2.1, TFD): a classifier fitted on labelled examples labels the others.

Features are standardised block-averaged pixels for images and x itself for vectors; the
classifier is PCA then logistic regression: one multinomial regression for exclusive labels (one
label per example, as TFD's expressions), otherwise one binary regression per label. An example
is kept where the classifier is at least `confidence` sure of every one of its labels. Needs
numpy and scikit-learn only.

  y, is_confident = pseudo_labels.predict(x_labelled, y_labelled, x_other, exclusive=False)
"""

import numpy as np
from sklearn import decomposition
from sklearn import linear_model
from sklearn import pipeline as sk_pipeline
from sklearn import preprocessing

CONFIDENCE = 0.9     # Paper 5.2.1: pseudo-labels kept at probability >= 0.9.
PCA_COMPONENTS = 100
FEATURE_SIDE = 24    # Images are averaged down to about 24x24: ample for expressions and glasses.


def features(x: np.ndarray) -> np.ndarray:
  """The classifier's input: float32 [N, F].

  Args:
    x: float vectors [N, D] (returned as float32), or images [N, H, W] or [N, H, W, C] of any
      numeric dtype, averaged over blocks of f x f pixels, f = H // FEATURE_SIDE (at least 1;
      rows and columns past the last whole block are left out), each image then standardised
      (zero mean, unit variance over its features) so that lighting matters less.
  """
  if x.ndim == 2:
    return x.astype(np.float32)
  factor = max(x.shape[1] // FEATURE_SIDE, 1)
  rows, columns = x.shape[1] // factor, x.shape[2] // factor
  x = x[:, :rows * factor, :columns * factor]
  blocks = x.reshape(len(x), rows, factor, columns, factor, *x.shape[3:])
  small = blocks.mean(axis=(2, 4), dtype=np.float32).reshape(len(x), -1)
  small -= small.mean(axis=1, keepdims=True)
  return small / (small.std(axis=1, keepdims=True) + 1e-6)


def _reduction(shape: tuple[int, ...], pca_components: int, seed: int) -> list[object]:
  """Standardisation then PCA, for features of `shape` [N, F]."""
  return [preprocessing.StandardScaler(),
          decomposition.PCA(min(pca_components, *shape), random_state=seed)]


def fit_classifier(features_: np.ndarray, labels: np.ndarray, pca_components: int = PCA_COMPONENTS,
                   seed: int = 0) -> sk_pipeline.Pipeline:
  """Standardised features -> PCA -> logistic regression, fitted to (features [N, F], labels [N]
  of two or more classes); its `predict_proba` columns follow its `classes_`."""
  return sk_pipeline.make_pipeline(
      *_reduction(features_.shape, pca_components, seed),
      linear_model.LogisticRegression(max_iter=2000)).fit(features_, labels)


def predict(x_labelled: np.ndarray, y_labelled: np.ndarray, x_other: np.ndarray, *,
            exclusive: bool, confidence: float = CONFIDENCE, pca_components: int = PCA_COMPONENTS,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Labels `x_other` with classifiers fitted on (x_labelled, y_labelled).

  Args:
    x_labelled: [L, ...] examples (vectors or images, see `features`).
    y_labelled: float [L, k] in {0, 1}: their labels, one-hot rows where `exclusive`.
    x_other: [M, ...] examples to label, as x_labelled.
    exclusive: one label per example (a softmax over the k labels) rather than k independent ones.
    confidence: the probability each label's value must reach for an example to be kept.
    pca_components, seed: the classifier's PCA size and its random state.

  Returns:
    (y float32 [M, k] in {0, 1}: the most probable labels, is_confident bool [M]: every label's
    most probable value has probability >= confidence).

  Raises:
    ValueError: when some label has one value only among the labelled examples.
  """
  columns = [np.argmax(y_labelled, axis=1)] if exclusive else list(y_labelled.T)
  for j, column in enumerate(columns):
    if len(np.unique(column)) < 2:
      which = "two of the labels" if exclusive else f"both values of label {j}"
      raise ValueError(f"Pseudo-labelling needs {which} among the {len(y_labelled)} labelled "
                       "examples, which have one: raise config.data.label_fraction.")
  train, other = features(x_labelled), features(x_other)
  if exclusive:
    classifier = fit_classifier(train, columns[0], pca_components, seed)
    probabilities = classifier.predict_proba(other)
    guesses = classifier.classes_[np.argmax(probabilities, axis=1)]
    y = np.eye(y_labelled.shape[1], dtype=np.float32)[guesses]
    return y, probabilities.max(axis=1) >= confidence
  # One reduction for all labels (it does not see them), then a regression per label; column 1
  # of predict_proba is P(label = 1), classes_ being sorted.
  reduction = sk_pipeline.make_pipeline(*_reduction(train.shape, pca_components, seed))
  train, other = reduction.fit_transform(train), reduction.transform(other)
  on = np.stack([linear_model.LogisticRegression(max_iter=2000).fit(train, column)
                 .predict_proba(other)[:, 1] for column in columns], axis=1)
  is_confident = ((on >= confidence) | (on <= 1 - confidence)).all(axis=1)
  return (on >= 0.5).astype(np.float32), is_confident
