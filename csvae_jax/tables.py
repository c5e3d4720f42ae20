"""The paper's quantitative evaluation (5.4; docs/design.md#evaluation) of a trained image model.

- `method1` (Table 1): the share of switched images that the classifier C assigns the target, at
  the paper's points, at each model's own best point chosen on a search split and, for CSVAE
  switching on, at its default point, the densest encoding stored with the checkpoint
  (`switch_points.densest`).
- `method2` (Table 2): target-changed, original-changed and target-original MSE over pairs of one
  identity with and without the attribute, the point p_j chosen on a search split.
- `style_coverage`: how many of the generator's styles of an attribute a model's edits reach.

Every function takes an `edit(x, y, j, on, point)` (default: `switching.switch_attribute`), so the
numbers are those of the edits and nothing else. A table is scored on one split and makes its
choices on another (`evaluate.write_tables`: test scored, validation searched; or validation
scored, train searched, for choosing settings). Images are uint8 [N, H, W, C] throughout; MSEs are
means over pixels and channels of images scaled to [0, 1].
"""

import dataclasses
from typing import Any, Callable, Optional

import numpy as np

from csvae_jax import classifier as classifier_lib
from csvae_jax import data as data_lib
from csvae_jax import switch_points
from csvae_jax import switching
from csvae_jax import trained_model

# edit(x uint8 [B, ...], y [B, k], attribute index, on, point or batch of points or None)
#   -> uint8 [B, ...] ([P, B, ...] for a batch of P points).
Edit = Callable[[np.ndarray, np.ndarray, int, bool, Any], np.ndarray]
# reconstruct(x uint8 [B, ...], y [B, k]) -> uint8 [B, ...]: decoding the posterior means.
Reconstruct = Callable[[np.ndarray, np.ndarray], np.ndarray]
Split = dict[str, np.ndarray]

# The searched range of the baselines' p and the VAE's t: [0, 6] (switching off: [-5, 1]), as
# wide as CSVAE's W grid (`switching.w_grid`: 3 +- 3), in steps of 0.25; it widens where the best
# point lies on its edge. The paper's [0, 3] (`switching.P_RANGE`) is for pictures only.
SEARCH_SPAN = 6.0
SEARCH_STEPS_PER_UNIT = 4
MAX_WIDENINGS = 2  # each doubles the span


@dataclasses.dataclass(frozen=True)
class Switch:
  """One switch of an attribute: the rows of Tables 1 and 2."""
  attribute: str               # the target label's name
  before: str                  # "present"/"absent", or (exclusive labels) the source class
  after: str
  j: int                       # the target label's column of y
  on: bool                     # switched on (True) or off
  source: Optional[int] = None  # exclusive labels: the column of the class switched from

  @property
  def public(self) -> dict[str, str]:
    return {"attribute": self.attribute, "from": self.before, "to": self.after}

  def sources(self, y: np.ndarray) -> np.ndarray:
    """Indices of the examples the switch applies to: y [N, k] -> int [M]."""
    if self.source is not None:
      return np.flatnonzero(y.argmax(1) == self.source)
    return np.flatnonzero(y[:, self.j] == (0 if self.on else 1))

  def has_target(self, y: np.ndarray) -> np.ndarray:
    """bool [N]: the examples that already have the switch's target."""
    if self.source is not None:
      return y.argmax(1) == self.j
    return y[:, self.j] == int(self.on)

  def switched_labels(self, y: np.ndarray) -> np.ndarray:
    """The labels y [N, k] after the switch."""
    out = y.copy()
    if self.source is not None:
      out[:] = 0
    out[:, self.j] = float(self.on)
    return out


def switches(label_names, exclusive: bool) -> list[Switch]:
  """The switches to score: each attribute on->off and off->on, or (exclusive labels) every class
  to every other."""
  if exclusive:
    return [Switch(target, source, target, j, True, i)
            for j, target in enumerate(label_names) for i, source in enumerate(label_names)
            if i != j]
  return [Switch(name, before, after, j, on)
          for j, name in enumerate(label_names)
          for on, before, after in ((False, "present", "absent"), (True, "absent", "present"))]


def model_edit(model: trained_model.TrainedModel, exclusive: bool) -> Edit:
  """The G_ij of `model` (paper 4.3) as an `Edit`."""
  def edit(x, y, j, on, point=None):
    return switching.switch_attribute(model, x, y, j, on=on, point=point, exclusive=exclusive)
  return edit


@dataclasses.dataclass(frozen=True)
class Candidates:
  """Points of a search and the edges of the box they fill that a wider search would pass."""
  points: np.ndarray  # [P] (p or t) or [P, Dw] (CSVAE)
  low: np.ndarray     # [] or [Dw]; -inf where the range has a natural end (p = 0: no edit)
  high: np.ndarray

  def on_edge(self, point: np.ndarray) -> bool:
    point = np.asarray(point)
    return bool(np.any(np.isclose(point, self.low) | np.isclose(point, self.high)))


def _line(start: float, stop: float, span: float) -> np.ndarray:
  """p from `start` towards `stop`, `span` wide, in steps of 1 / SEARCH_STEPS_PER_UNIT: [P]."""
  num = int(round(span * SEARCH_STEPS_PER_UNIT)) + 1
  return np.linspace(start, start + np.sign(stop - start) * span, num, dtype=np.float32)


def w_points(model: trained_model.TrainedModel, j: int, centre: np.ndarray, split: Split,
             span: float = SEARCH_SPAN) -> np.ndarray:
  """A 5x5 set of points of W_j around `centre` [Dw], `span` wide: a grid for dw = 2, principal
  directions of W_j's posterior on `split` otherwise. Returns float32 [25, Dw]."""
  if model.spec.w_dim == 2:
    return switching.w_grid(model, 5, span / 2, centre=centre)
  points = switching.principal_points(model, j, split["x"][:1024], split["y"][:1024], 2,
                                       (-2, -1, 0, 1, 2))
  return centre + (points - points.mean(0)) * (span / SEARCH_SPAN)


def candidate_points(model: trained_model.TrainedModel, switch: Switch, split: Split,
                     widening: int = 0) -> Candidates:
  """The points p_j a search tries for `switch`, `2 ** widening` times the base span:
  - CondVAE(-info): p in [0, 6] switching on, [-5, 1] off (25 values);
  - VAE: the scale t of the mean shift in [0, 6];
  - CSVAE: a 5x5 grid of W_j spanning 6 around the present prior's mean (on; plus the paper's
    point, the mean encoding with the attribute, first) or the absent prior's mean (off; plus the
    mean of `split`'s absent examples, first), principal directions for dw > 2.
  """
  spec, span = model.spec, SEARCH_SPAN * 2 ** widening
  if not spec.has_w:
    if spec.decodes_y and not switch.on:
      p = _line(1.0, -1.0, span)
      return Candidates(p, np.float32(p.min()), np.float32(np.inf))
    p = _line(0.0, 1.0, span)
    return Candidates(p, np.float32(-np.inf), np.float32(p.max()))
  j, dw = switch.j, spec.w_dim
  if switch.on:
    centre = np.full(dw, spec.w_present_mean, np.float32)
    extra = switching.paper_point(model, j, True)
  else:
    centre = np.full(dw, spec.w_absent_mean, np.float32)
    absent = np.flatnonzero(split["y"][:, j] == 0)[:1024]
    w = model.encode(split["x"][absent], split["y"][absent])["w_mu"]
    extra = w.reshape(len(w), spec.num_labels, dw)[:, j].mean(0)
  grid = w_points(model, j, centre, split, span)
  return Candidates(np.concatenate([extra[None], grid]), grid.min(0), grid.max(0))


def _hits(clf: classifier_lib.TrainedClassifier, predicted: np.ndarray,
          switch: Switch) -> np.ndarray:
  """bool [...]: whether C's predictions (`predicted_labels`) assign the switch's target."""
  if clf.exclusive:
    return predicted == switch.j
  return predicted[..., switch.j] == int(switch.on)


def _kept(predicted: np.ndarray, before: np.ndarray, j: int) -> np.ndarray:
  """bool [...]: whether C reads every label but j of the edit as it read them before."""
  others = np.arange(before.shape[-1]) != j
  return np.all(predicted[..., others] == before[..., others], axis=-1)


def _clean_share(clf: classifier_lib.TrainedClassifier, edit: Edit, switch: Switch,
                 split: Split, points: np.ndarray, max_examples: int) -> np.ndarray:
  """[P]: per point, the share of `split`'s examples (up to `max_examples`) whose edit C assigns
  the target with every other label read as before (exclusive labels: the target only)."""
  idx = switch.sources(split["y"])[:max_examples]
  x, y = split["x"][idx], split["y"][idx]
  edited = edit(x, y, switch.j, switch.on, points)  # [P, N, ...]
  predicted = clf.predicted_labels(edited.reshape(-1, *edited.shape[2:]))
  predicted = predicted.reshape(len(points), len(idx), *predicted.shape[1:])
  good = _hits(clf, predicted, switch)
  if not clf.exclusive:
    good &= _kept(predicted, clf.predicted_labels(x)[None], switch.j)
  return good.mean(1)


def _scores(clf, edit, switch, split, idx, point) -> dict[str, float]:
  x, y = split["x"][idx], split["y"][idx]
  before, after = clf.predicted_labels(x), clf.predicted_labels(edit(x, y, switch.j, switch.on,
                                                                     point))
  hits = _hits(clf, after, switch)
  out = {"accuracy": float(np.mean(hits)), "unedited": float(np.mean(_hits(clf, before, switch)))}
  if not clf.exclusive:
    kept = _kept(after, before, switch.j)
    out["others_kept"] = float(np.mean(kept))
    out["clean"] = float(np.mean(hits & kept))
  return out


def present_w(model: trained_model.TrainedModel, split: Split, j: int,
              max_examples: int = switch_points.MAX_DENSITY_POINTS
              ) -> tuple[np.ndarray, np.ndarray]:
  """(w_j means [M, Dw], their indices [M]) of (at most `max_examples` of) `split`'s examples with
  attribute j."""
  idx = np.flatnonzero(split["y"][:, j] == 1)[:max_examples]
  w_mu = model.encode(split["x"][idx], split["y"][idx])["w_mu"]
  return w_mu.reshape(len(idx), model.spec.num_labels, model.spec.w_dim)[:, j], idx


def _means(rows: list[dict], key: str, exclusive: bool) -> dict[str, float]:
  """`key` averaged over all rows, and (independent labels) over the switches on and off."""
  out = {key: float(np.mean([r[key] for r in rows]))}
  if not exclusive:
    for direction, after in (("on", "present"), ("off", "absent")):
      values = [r[key] for r in rows if r["to"] == after]
      if values:
        out[f"{key}_{direction}"] = float(np.mean(values))
  return out


def method1(clf: classifier_lib.TrainedClassifier, split: Split, edit: Edit,
            max_examples: int = 1024, reconstruct: Optional[Reconstruct] = None,
            model: Optional[trained_model.TrainedModel] = None,
            search: Optional[Split] = None, max_search_examples: int = 256) -> dict[str, Any]:
  """Table 1: per switch, the share of edited images of `split` that C assigns the target
  ("accuracy") at the paper's point (`switching.paper_point` with `model`, else the edit's
  default), beside the share of the unedited ones it already does ("unedited"). With independent
  labels also "others_kept": the share of edited images whose other labels C reads as it read them
  before the edit; and "clean": the share both switched and with the others kept (an untrained
  decoder's blur counts as switched off, but as clean only on faces with no other attribute to
  lose: docs/experiments/2026-12-06-untrained-floor/).

  With `model` and `search`, a second row per switch: the model's own best point, the
  `candidate_points` point whose edits of (up to `max_search_examples` per switch of) `search` C
  most often reads as switched with every other label kept ("best_point", "accuracy_at_best",
  "others_kept_at_best", "clean_at_best"); and for CSVAE switching on a third: the edit's default
  point, the densest encoding stored with the checkpoint ("densest_point", "accuracy_at_densest",
  "others_kept_at_densest", "clean_at_densest").

  With `reconstruct`, "reconstruction_keeps_target": the share of `split`'s images that already
  have the target whose reconstruction C still assigns the target. It measures how faithfully the
  model redraws the target state; an edit can exceed it (it is not a bound on the edits).

  Returns:
    {"rows": [{"attribute", "from", "to", "examples", "accuracy", "unedited"[, "others_kept",
     "clean"][, "best_point", "accuracy_at_best"[, "others_kept_at_best", "clean_at_best"]]
     [, "densest_point", "accuracy_at_densest"[, "others_kept_at_densest", "clean_at_densest"]]
     [, "reconstruction_keeps_target"]}], "mean_accuracy" (over rows) and, for independent
     labels, "mean_accuracy_on"/"_off" (likewise "mean_accuracy_at_best", "mean_clean",
     "mean_clean_at_best"; and "mean_accuracy_at_densest" over the rows that have it)}.
  """
  rows = []
  for switch in switches(clf.label_names, clf.exclusive):
    idx = switch.sources(split["y"])[:max_examples]
    if not len(idx):
      continue
    paper = None if model is None else switching.paper_point(model, switch.j, switch.on)
    out = {**switch.public, "examples": int(len(idx)),
           **_scores(clf, edit, switch, split, idx, paper)}
    if model is not None and search is not None and len(switch.sources(search["y"])):
      points = candidate_points(model, switch, search).points
      best = points[int(np.argmax(_clean_share(clf, edit, switch, search, points,
                                               max_search_examples)))]
      at_best = _scores(clf, edit, switch, split, idx, best)
      out["best_point"] = np.asarray(best).tolist()
      out.update({f"{k}_at_best": v for k, v in at_best.items() if k != "unedited"})
      if paper is not None:
        at_densest = _scores(clf, edit, switch, split, idx, None)
        out["densest_point"] = switching.switch_points(model).w_densest[switch.j].tolist()
        out.update({f"{k}_at_densest": v for k, v in at_densest.items() if k != "unedited"})
    if reconstruct is not None:
      have = np.flatnonzero(switch.has_target(split["y"]))[:max_examples]
      recon = reconstruct(split["x"][have], split["y"][have])
      out["reconstruction_keeps_target"] = float(np.mean(_hits(
          clf, clf.predicted_labels(recon), switch)))
    rows.append(out)
  means = {}
  for key in ("accuracy", "accuracy_at_best", "clean", "clean_at_best"):
    if rows and key in rows[0]:
      means.update({f"mean_{k}": v for k, v in _means(rows, key, clf.exclusive).items()})
  at_densest = [r["accuracy_at_densest"] for r in rows if "accuracy_at_densest" in r]
  if at_densest:
    means["mean_accuracy_at_densest"] = float(np.mean(at_densest))
  return {"rows": rows, **means}


def has_identities(split: Split, traits: data_lib.Traits) -> bool:
  """Whether Method 2 can run: the data re-render an edit's ground truth, or identities exist."""
  return (traits.rerender_switched is not None
          or bool(np.any(split.get("identity", np.array([-1])) >= 0)))


def pairs(split: Split, switch: Switch, label_names, max_pairs: int,
          traits: Optional[data_lib.Traits] = None) -> tuple[np.ndarray, np.ndarray]:
  """Pairs (x1, x2) of one identity before and after the switch.

  Where the data re-render (`traits.rerender_switched`: the procedural faces) x2 is x1 re-rendered
  with the attribute switched (its stored style and params); elsewhere x2 is another image of the
  same identity whose labels are those of x1 switched.

  Returns:
    (indices of x1 in split [P], x2 uint8 [P, H, W, C]).
  """
  sources = switch.sources(split["y"])
  if traits is not None and traits.rerender_switched is not None:
    idx = sources[:max_pairs]
    sub = {k: v[idx] for k, v in split.items()}
    return idx, traits.rerender_switched(sub, label_names[switch.j], switch.on)
  y, identity = split["y"], split["identity"]
  targets = switch.switched_labels(y)
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


def mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Per-image MSE of uint8 images in [0, 1] units: [..., H, W, C] -> [...]."""
  diff = (a.astype(np.float32) - b.astype(np.float32)) / 255.0
  return np.mean(diff ** 2, axis=(-3, -2, -1))


Pairs = tuple[np.ndarray, np.ndarray]  # (indices of x1 in a split [P], targets x2 [P, H, W, C])


def best_point(model, edit: Edit, switch: Switch, search: Split,
                search_pairs: Pairs) -> tuple[np.ndarray, int, bool]:
  """The candidate point minimising target-changed on `search_pairs`, widening the search while the
  best lies on its edge (at most MAX_WIDENINGS times). Returns (point, widenings, interior)."""
  idx, targets = search_pairs
  for widening in range(MAX_WIDENINGS + 1):
    candidates = candidate_points(model, switch, search, widening)
    edited = edit(search["x"][idx], search["y"][idx], switch.j, switch.on, candidates.points)
    best = candidates.points[int(np.argmin(mse(edited, targets[None]).mean(1)))]
    if not candidates.on_edge(best):
      return best, widening, True
  return best, widening, False


def _method2_row(model, edit: Edit, switch: Switch, search: Split, search_pairs: Pairs,
                 split: Split, scored: Pairs) -> dict[str, Any]:
  """One row of Table 2: the point chosen on the `search` pairs, scored on the `split` pairs."""
  best, widenings, interior = best_point(model, edit, switch, search, search_pairs)
  idx, targets = scored
  x1 = split["x"][idx]
  changed = edit(x1, split["y"][idx], switch.j, switch.on, best)
  return {"pairs": int(len(idx)), "point": np.asarray(best).tolist(), "widenings": widenings,
          "interior": interior,
          "target_changed": float(mse(targets, changed).mean()),
          "original_changed": float(mse(x1, changed).mean()),
          "target_original": float(mse(targets, x1).mean())}


def _stored_styles(split: Split, name: str) -> Optional[np.ndarray]:
  """The style each example of `split` is drawn in, or would be if it had attribute `name` (the
  procedural faces store it for every example): int [N]; None where the data do not know it."""
  return split.get(f"factor/{name}_style")


def _first(pairs_: Pairs, n: int) -> Pairs:
  return pairs_[0][:n], pairs_[1][:n]


def _in_style(pairs_: Pairs, styles: np.ndarray, style: int, max_pairs: int) -> Pairs:
  """The first `max_pairs` of `pairs_` whose truth is in `style`."""
  idx, targets = pairs_
  keep = styles[idx] == style
  return idx[keep][:max_pairs], targets[keep][:max_pairs]


def method2(model: trained_model.TrainedModel, search: Split, split: Split,
            traits: data_lib.Traits, edit: Optional[Edit] = None, max_pairs: int = 256,
            max_search_pairs: int = 128) -> dict[str, Any]:
  """Table 2: for each switch, the point minimising target-changed MSE on (up to
  `max_search_pairs`) pairs of `search` (widened until it is interior, `best_point`), then on (up
  to `max_pairs`) pairs of `split` MSE(x2, G(x1, p)) "target_changed", MSE(x1, G(x1, p))
  "original_changed" and MSE(x2, x1) "target_original".

  Where the data know the style a switched-on attribute is drawn in (the procedural faces), the
  true edit is one of several styles that the input does not show, and a single point's edit can
  match only one of them: the MSE-optimal edit is their pixel average. So each such switch is also
  scored with the style given: per style s, the point is chosen on the search pairs whose truth is
  drawn in s and scored on the pairs of `split` in s ("style_rows").

  Returns:
    {"rows": [{"attribute", "from", "to", "pairs", "point", "widenings", "interior",
     "target_changed", "original_changed", "target_original"}], "mean": the three MSEs averaged
    over rows, and (independent labels) "target_changed_on"/"_off" over the switches on/off}; with
    styles also "style_rows" (the same plus "style") and "mean"'s
    "target_changed_on_style_given" (averaged over the style rows).
  """
  edit = edit or model_edit(model, traits.exclusive)
  names = model.spec.label_names
  rows, style_rows = [], []
  for switch in switches(names, traits.exclusive):
    styles = [_stored_styles(s, names[switch.j]) for s in (search, split)]
    by_style = switch.on and all(s is not None for s in styles)
    # By style: every pair, to be split by the style of its truth; the first ones are the same.
    search_pairs = pairs(search, switch, names,
                         len(search["x"]) if by_style else max_search_pairs, traits)
    scored = pairs(split, switch, names, len(split["x"]) if by_style else max_pairs, traits)
    if not len(search_pairs[0]) or not len(scored[0]):
      continue
    rows.append({**switch.public, **_method2_row(
        model, edit, switch, search, _first(search_pairs, max_search_pairs), split,
        _first(scored, max_pairs))})
    if not by_style:
      continue
    for style in np.unique(styles[0][search_pairs[0]]):
      search_s = _in_style(search_pairs, styles[0], style, max_search_pairs)
      scored_s = _in_style(scored, styles[1], style, max_pairs)
      if len(scored_s[0]):
        style_rows.append({**switch.public, "style": int(style), **_method2_row(
            model, edit, switch, search, search_s, split, scored_s)})
  mean = {k: float(np.mean([r[k] for r in rows]))
          for k in ("target_changed", "original_changed", "target_original")}
  if not traits.exclusive:
    mean.update(_means(rows, "target_changed", exclusive=False))
  out = {"rows": rows, "mean": mean}
  if style_rows:
    out["style_rows"] = style_rows
    out["mean"]["target_changed_on_style_given"] = float(
        np.mean([r["target_changed"] for r in style_rows]))
  return out


def style_points(model: trained_model.TrainedModel, j: int, split: Split) -> np.ndarray:
  """The 25 points whose edits are searched for styles, the same box as Method 2's first search:
  CSVAE the 5x5 W_j grid around the present prior's mean, the others p (t) in [0, 6]."""
  points = candidate_points(model, Switch("", "absent", "present", j, True), split).points
  return points[1:] if model.spec.has_w else points


def style_coverage(clf: classifier_lib.TrainedClassifier, split: Split, j: int,
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
