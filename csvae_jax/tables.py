"""The paper's quantitative evaluation (5.4; docs/design.md#evaluation) of a trained image model.

- `method1` (Table 1): the share of switched test images that the classifier C assigns the target.
- `method2` (Table 2): target-changed, original-changed and target-original MSE over pairs of one
  identity with and without the attribute, the point p_j chosen on the validation split.
- `style_coverage`: how many of the generator's styles of an attribute a model's edits reach.

Every function takes an `edit(x, y, j, on, point)` (default: `manipulate.switch_attribute`), so the
numbers are those of the edits and nothing else. Images are uint8 [N, H, W, C] throughout; MSEs are
means over pixels and channels of images scaled to [0, 1].
"""

from typing import Any, Callable, Optional

import numpy as np

from csvae_jax import classifier as classifier_lib
from csvae_jax import data as data_lib
from csvae_jax import manipulate
from csvae_jax import trained_model

# edit(x uint8 [B, ...], y [B, k], attribute index, on, point or batch of points or None)
#   -> uint8 [B, ...] ([P, B, ...] for a batch of P points).
Edit = Callable[[np.ndarray, np.ndarray, int, bool, Any], np.ndarray]
# reconstruct(x uint8 [B, ...], y [B, k]) -> uint8 [B, ...]: decoding the posterior means.
Reconstruct = Callable[[np.ndarray, np.ndarray], np.ndarray]
_P_RANGE = np.linspace(*manipulate.P_RANGE, 13, dtype=np.float32)  # CondVAE(-info) p, VAE t


def model_edit(model: trained_model.TrainedModel, exclusive: bool) -> Edit:
  """The G_ij of `model` (paper 4.3) as an `Edit`."""
  def edit(x, y, j, on, point=None):
    return manipulate.switch_attribute(model, x, y, j, on=on, point=point, exclusive=exclusive)
  return edit


def switches(label_names, exclusive: bool) -> list[dict[str, Any]]:
  """The switches to score: each attribute on->off and off->on, or (exclusive labels) every class
  to every other. Each is {"attribute", "from", "to"} (names) plus "j" (the target's column),
  "on" and, for exclusive labels, "source" (the class switched from)."""
  if exclusive:
    return [{"attribute": target, "from": source, "to": target, "j": j, "on": True, "source": i}
            for j, target in enumerate(label_names) for i, source in enumerate(label_names)
            if i != j]
  return [{"attribute": name, "from": before, "to": after, "j": j, "on": on}
          for j, name in enumerate(label_names)
          for on, before, after in ((False, "present", "absent"), (True, "absent", "present"))]


def _public(row: dict[str, Any]) -> dict[str, Any]:
  return {k: row[k] for k in ("attribute", "from", "to")}


def _sources(y: np.ndarray, row: dict[str, Any]) -> np.ndarray:
  """Indices of the examples the switch applies to: [N] int."""
  if "source" in row:
    return np.flatnonzero(y.argmax(1) == row["source"])
  return np.flatnonzero(y[:, row["j"]] == (0 if row["on"] else 1))


def _hits(clf: classifier_lib.TrainedClassifier, predicted: np.ndarray,
          row: dict[str, Any]) -> np.ndarray:
  """bool [B]: whether C's predictions (`predicted_labels`) assign the switch's target."""
  if clf.exclusive:
    return predicted == row["j"]
  return predicted[:, row["j"]] == int(row["on"])


def method1(clf: classifier_lib.TrainedClassifier, split: dict[str, np.ndarray], edit: Edit,
            max_examples: int = 1024, reconstruct: Optional[Reconstruct] = None
            ) -> dict[str, Any]:
  """Table 1: per switch, the share of edited test images C assigns the target ("accuracy"),
  beside the share of the unedited ones it already does ("unedited"). With independent labels
  also "others_kept": the share of edited images whose other labels C reads as it read them
  before the edit. With `reconstruct`, "reconstructed": the share of the reconstructions of test
  images that already have the target which C assigns the target, the ceiling of an edit that
  works through the decoder.

  Returns:
    {"rows": [{"attribute", "from", "to", "examples", "accuracy", "unedited"[, "others_kept"]
     [, "reconstructed"]}], "mean_accuracy": the mean over rows}.
  """
  rows = []
  for row in switches(clf.label_names, clf.exclusive):
    idx = _sources(split["y"], row)[:max_examples]
    if not len(idx):
      continue
    x, y = split["x"][idx], split["y"][idx]
    before, after = clf.predicted_labels(x), clf.predicted_labels(edit(x, y, row["j"], row["on"],
                                                                       None))
    out = {**_public(row), "examples": int(len(idx)),
           "accuracy": float(np.mean(_hits(clf, after, row))),
           "unedited": float(np.mean(_hits(clf, before, row)))}
    if not clf.exclusive:
      others = np.arange(len(clf.label_names)) != row["j"]
      out["others_kept"] = float(np.mean(np.all(after[:, others] == before[:, others], axis=1)))
    if reconstruct is not None:
      have = np.flatnonzero(_target_mask(split["y"], row))[:max_examples]
      recon = reconstruct(split["x"][have], split["y"][have])
      out["reconstructed"] = float(np.mean(_hits(clf, clf.predicted_labels(recon), row)))
    rows.append(out)
  return {"rows": rows, "mean_accuracy": float(np.mean([r["accuracy"] for r in rows]))}


def _target_mask(y: np.ndarray, row: dict[str, Any]) -> np.ndarray:
  """bool [N]: the examples that already have the switch's target."""
  if "source" in row:
    return y.argmax(1) == row["j"]
  return y[:, row["j"]] == int(row["on"])


def has_identities(split: dict[str, np.ndarray], traits: data_lib.Traits) -> bool:
  """Whether Method 2 can run: the data re-render an edit's ground truth, or identities exist."""
  return (traits.rerender_switched is not None
          or bool(np.any(split.get("identity", np.array([-1])) >= 0)))


def pairs(split: dict[str, np.ndarray], row: dict[str, Any], label_names, max_pairs: int,
          traits: Optional[data_lib.Traits] = None) -> tuple[np.ndarray, np.ndarray]:
  """Pairs (x1, x2) of one identity before and after the switch.

  Where the data re-render (`traits.rerender_switched`: the procedural faces) x2 is x1 re-rendered
  with the attribute switched (its stored style and params); elsewhere x2 is another image of the
  same identity whose labels are those of x1 switched.

  Returns:
    (indices of x1 in split [P], x2 uint8 [P, H, W, C]).
  """
  sources = _sources(split["y"], row)
  if traits is not None and traits.rerender_switched is not None:
    idx = sources[:max_pairs]
    sub = {k: v[idx] for k, v in split.items()}
    return idx, traits.rerender_switched(sub, label_names[row["j"]], row["on"])
  y, identity = split["y"], split["identity"]
  targets = y.copy()
  if "source" in row:
    targets[:] = 0
  targets[:, row["j"]] = float(row["on"])
  by_identity: dict[int, list[int]] = {}
  for i in np.flatnonzero(identity >= 0):
    by_identity.setdefault(int(identity[i]), []).append(int(i))
  first, second = [], []
  for i in sources:
    match = [m for m in by_identity.get(int(identity[i]), ()) if np.array_equal(y[m], targets[i])]
    if match:
      first.append(i)
      second.append(match[0])
    if len(first) == max_pairs:
      break
  return np.asarray(first, np.int64), split["x"][np.asarray(second, np.int64)]


def candidate_points(model: trained_model.TrainedModel, row: dict[str, Any],
                     validation: dict[str, np.ndarray]) -> np.ndarray:
  """The points p_j Method 2 searches: CSVAE a 5x5 grid of W_j (principal directions for dw > 2)
  and its default point when switching on, the absent prior mean and the validation mean of the
  absent examples when switching off; CondVAE(-info) p in [0, 3] (on) or [-2, 1] (off); VAE the
  scale t of the mean shift in [0, 3].

  Returns:
    float32 [P, Dw] (CSVAE) or [P].
  """
  spec, j = model.spec, row["j"]
  if spec.decodes_y:
    return _P_RANGE if row["on"] else _P_RANGE - 2.0
  if not spec.has_w:  # the VAE's scale t
    return _P_RANGE
  if row["on"]:
    if spec.w_dim == 2:
      grid = manipulate.w_grid(model, 5)
    else:
      grid = manipulate.principal_points(model, j, validation["x"], validation["y"], 2,
                                         (-2, -1, 0, 1, 2))
    default = np.asarray(manipulate.switch_points(model)["w_present"][j], np.float32)
    return np.concatenate([default[None], grid])
  absent = validation["y"][:, j] == 0
  w = model.encode(validation["x"][absent], validation["y"][absent])["w_mu"]
  w = w.reshape(len(w), spec.num_labels, spec.w_dim)[:, j]
  return np.stack([np.full(spec.w_dim, spec.w_absent_mean, np.float32), w.mean(0)])


def _mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Per-image MSE of uint8 images in [0, 1] units: [..., H, W, C] -> [...]."""
  diff = (a.astype(np.float32) - b.astype(np.float32)) / 255.0
  return np.mean(diff ** 2, axis=(-3, -2, -1))


def _method2_row(edit: Edit, points: np.ndarray, row: dict[str, Any],
                 validation: dict[str, np.ndarray], search: tuple[np.ndarray, np.ndarray],
                 test: dict[str, np.ndarray], scored: tuple[np.ndarray, np.ndarray]
                 ) -> dict[str, Any]:
  """One row of Table 2: the point of `points` minimising target-changed on the validation pairs
  `search` (indices [P], targets [P, H, W, C]), scored on the test pairs `scored`."""
  (idx, targets), (test_idx, test_targets) = search, scored
  edited = edit(validation["x"][idx], validation["y"][idx], row["j"], row["on"], points)
  best = points[int(np.argmin(_mse(edited, targets[None]).mean(1)))]
  x1 = test["x"][test_idx]
  changed = edit(x1, test["y"][test_idx], row["j"], row["on"], best)
  return {"pairs": int(len(test_idx)), "point": np.asarray(best).tolist(),
          "target_changed": float(_mse(test_targets, changed).mean()),
          "original_changed": float(_mse(x1, changed).mean()),
          "target_original": float(_mse(test_targets, x1).mean())}


def _stored_styles(split: dict[str, np.ndarray], name: str) -> Optional[np.ndarray]:
  """The style each example of `split` is drawn in, or would be if it had attribute `name` (the
  procedural faces store it for every example): int [N]; None where the data do not know it."""
  return split.get(f"factor/{name}_style")


def _first(pairs_: tuple[np.ndarray, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
  """The first `n` of `pairs_` (indices [P], targets [P, ...])."""
  return pairs_[0][:n], pairs_[1][:n]


def _in_style(pairs_: tuple[np.ndarray, np.ndarray], styles: np.ndarray, style: int,
              max_pairs: int) -> tuple[np.ndarray, np.ndarray]:
  """The first `max_pairs` of `pairs_` (indices [P], targets [P, ...]) whose truth is in `style`."""
  idx, targets = pairs_
  keep = styles[idx] == style
  return idx[keep][:max_pairs], targets[keep][:max_pairs]


def method2(model: trained_model.TrainedModel, validation: dict[str, np.ndarray],
            test: dict[str, np.ndarray], traits: data_lib.Traits, edit: Optional[Edit] = None,
            max_pairs: int = 256, max_search_pairs: int = 128) -> dict[str, Any]:
  """Table 2: for each switch, the point minimising target-changed MSE on (up to
  `max_search_pairs`) validation pairs, then on (up to `max_pairs`) test pairs MSE(x2, G(x1, p))
  "target_changed", MSE(x1, G(x1, p)) "original_changed" and
  MSE(x2, x1) "target_original".

  Where the data know the style a switched-on attribute is drawn in (the procedural faces), the
  true edit is one of several styles that the input does not show, and a single point's edit can
  match only one of them: the MSE-optimal edit is their pixel average. So each such switch is also
  scored with the style given: per style s, the point is chosen on the validation pairs whose
  truth is drawn in s and scored on the test pairs in s ("style_rows").

  Returns:
    {"rows": [{"attribute", "from", "to", "pairs", "point", "target_changed", "original_changed",
     "target_original"}], "mean": the three MSEs averaged over rows}; with styles also
    "style_rows" (the same plus "style") and, in "mean", "target_changed_on" (the switches on,
    style unknown) and "target_changed_on_style_given" (averaged over their style rows).
  """
  edit = edit or model_edit(model, traits.exclusive)
  names = model.spec.label_names
  rows, style_rows, on_rows = [], [], []
  for row in switches(names, traits.exclusive):
    styles = [_stored_styles(split, names[row["j"]]) for split in (validation, test)]
    by_style = row["on"] and all(s is not None for s in styles)
    # By style: every pair, to be split by the style of its truth; the first ones are the same.
    search = pairs(validation, row, names,
                   len(validation["x"]) if by_style else max_search_pairs, traits)
    scored = pairs(test, row, names, len(test["x"]) if by_style else max_pairs, traits)
    if not len(search[0]) or not len(scored[0]):
      continue
    points = candidate_points(model, row, validation)
    rows.append({**_public(row), **_method2_row(
        edit, points, row, validation, _first(search, max_search_pairs), test,
        _first(scored, max_pairs))})
    if not by_style:
      continue
    on_rows.append(rows[-1])
    for style in np.unique(styles[0][search[0]]):
      search_s = _in_style(search, styles[0], style, max_search_pairs)
      scored_s = _in_style(scored, styles[1], style, max_pairs)
      if len(scored_s[0]):
        style_rows.append({**_public(row), "style": int(style), **_method2_row(
            edit, points, row, validation, search_s, test, scored_s)})
  keys = ("target_changed", "original_changed", "target_original")
  out = {"rows": rows, "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys}}
  if style_rows:
    out["style_rows"] = style_rows
    out["mean"]["target_changed_on"] = float(np.mean([r["target_changed"] for r in on_rows]))
    out["mean"]["target_changed_on_style_given"] = float(
        np.mean([r["target_changed"] for r in style_rows]))
  return out


def style_points(model: trained_model.TrainedModel, j: int,
                 validation: dict[str, np.ndarray]) -> np.ndarray:
  """The points whose edits are searched for styles: CSVAE the 5x5 W grid (5x5 principal points
  for dw > 2), CondVAE(-info) and VAE 25 values of p (t) in the paper's [0, 3]."""
  if not model.spec.has_w:
    return np.linspace(*manipulate.P_RANGE, 25, dtype=np.float32)
  if model.spec.w_dim == 2:
    return manipulate.w_grid(model, 5)
  return manipulate.principal_points(model, j, validation["x"], validation["y"], 2,
                                     (-2, -1, 0, 1, 2))


def style_coverage(clf: classifier_lib.TrainedClassifier, split: dict[str, np.ndarray], j: int,
                   points: np.ndarray, edit: Edit, num_subjects: int = 64) -> dict[str, Any]:
  """The generator's styles of attribute j that edits at `points` reach, as C's style head sees
  them, on `num_subjects` faces without the attribute.

  Returns:
    {"points": P, "styles_per_subject": the mean over subjects of the distinct styles among its
     edits that C calls present, "styles_by_point": the styles that some point gives a majority of
     subjects, "present_share": the share of edits C calls present,
     "style_share": [S] the share of all edits that are present in each style}.
  """
  idx = np.flatnonzero(split["y"][:, j] == 0)[:num_subjects]
  edited = edit(split["x"][idx], split["y"][idx], j, True, points)  # [P, N, H, W, C]
  out = clf.predict(edited.reshape(-1, *edited.shape[2:]))
  present = (out["labels"][:, j] > 0.5).reshape(len(points), len(idx))
  style = out["styles"][:, j].reshape(len(points), len(idx))
  num_styles = clf.net.num_styles[j]
  in_style = np.stack([present & (style == s) for s in range(num_styles)])  # [S, P, N]
  return {"points": int(len(points)),
          "styles_per_subject": float(in_style.any(1).sum(0).mean()),
          "styles_by_point": int(np.sum((in_style.mean(2) >= 0.5).any(1))),
          "present_share": float(present.mean()),
          "style_share": in_style.mean((1, 2)).tolist()}


def table1_markdown(table: dict[str, Any]) -> str:
  """Table 1 of one model as Markdown."""
  extra = [k for k in ("others_kept", "reconstructed") if k in table["rows"][0]]
  lines = [_header(table, "Method 1: the classifier's accuracy on switched test images"),
           "| attribute | from | to | examples | accuracy | unedited | "
           + "".join(f"{k.replace('_', ' ')} | " for k in extra),
           "|---|---|---|---|---|---|" + "---|" * len(extra)]
  lines += [f"| {r['attribute']} | {r['from']} | {r['to']} | {r['examples']} | "
            f"{r['accuracy']:.3f} | {r['unedited']:.3f} | "
            + "".join(f"{r[k]:.3f} | " for k in extra) for r in table["rows"]]
  lines.append(f"\nMean accuracy: {table['mean_accuracy']:.3f}. (unedited: the share of the "
               "same images before the edit that the classifier already assigns the target; "
               "others kept: the share of edited images whose other labels it reads as before; "
               "reconstructed: the share of reconstructions of images that have the target "
               "that it assigns the target, the ceiling of an edit through the decoder.)")
  return "\n".join(lines) + "\n"


def table2_markdown(table: dict[str, Any]) -> str:
  """Table 2 of one model as Markdown."""
  lines = [_header(table, "Method 2: MSE against the same identity with the target attribute"),
           "| attribute | from | to | pairs | point | target-changed | original-changed | "
           "target-original |", "|---|---|---|---|---|---|---|---|"]
  for r in table["rows"]:
    point = np.round(np.asarray(r["point"], np.float64), 2).tolist()
    lines.append(f"| {r['attribute']} | {r['from']} | {r['to']} | {r['pairs']} | {point} | "
                 f"{r['target_changed']:.5f} | {r['original_changed']:.5f} | "
                 f"{r['target_original']:.5f} |")
  m = table["mean"]
  lines.append(f"| mean | | | | | {m['target_changed']:.5f} | {m['original_changed']:.5f} | "
               f"{m['target_original']:.5f} |")
  lines.append("\nMSE per pixel and channel, images in [0, 1]; the point minimises target-changed "
               "on the validation pairs.")
  if "style_rows" in table:
    lines += ["\nSwitching on with the style of the truth given (the point chosen per style):\n",
              "| attribute | style | pairs | point | target-changed | target-original |",
              "|---|---|---|---|---|---|"]
    for r in table["style_rows"]:
      point = np.round(np.asarray(r["point"], np.float64), 2).tolist()
      lines.append(f"| {r['attribute']} | {r['style']} | {r['pairs']} | {point} | "
                   f"{r['target_changed']:.5f} | {r['target_original']:.5f} |")
    lines.append(f"\nSwitching on, target-changed averaged over switches: "
                 f"{m['target_changed_on']:.5f} with the style unknown, "
                 f"{m['target_changed_on_style_given']:.5f} with it given.")
  return "\n".join(lines) + "\n"


def _header(table: dict[str, Any], title: str) -> str:
  accuracy = table["classifier"].get("label_accuracy")
  return (f"# {title}\n\n{table['model']} on {table['dataset']}, seed {table['seed']}, "
          f"checkpoint step {table['step']}; classifier test accuracy "
          f"{'n/a' if accuracy is None else f'{accuracy:.3f}'}.\n")
