"""Figures of several runs: per kind the sample mean and sd over seeds (ddof=1) beside every seed's
value, and paired comparisons of two kinds trained on the same seeds (the sign count and the
paired t statistic of the per-seed differences).

A run is what `evaluate.write_tables` returns: {"table1": ..., "table2": ..., "styles": ...}.
"""

import dataclasses
import math
from typing import Any, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class Figure:
  """One number read off a run's tables."""
  name: str
  higher_is_better: bool
  digits: int


def _method1(table: dict[str, Any]) -> dict[Figure, float]:
  out = {}
  for key, label in (("mean_accuracy", "Method 1"), ("mean_accuracy_at_best",
                                                     "Method 1 at the best point"),
                     ("mean_accuracy_at_densest", "Method 1 at the densest point, on"),
                     ("mean_clean", "switched with the others kept"),
                     ("mean_clean_at_best", "switched with the others kept at the best point")):
    for suffix, direction in (("", ""), ("_on", ", on"), ("_off", ", off")):
      if key + suffix in table:
        out[Figure(label + direction, True, 3)] = table[key + suffix]
  for row in table["rows"]:  # Exclusive labels (TFD) switch class `from` to class `to`.
    source = row["attribute"] if row["attribute"] != row["to"] else row["from"]
    out[Figure(f"{source} → {row['to']}", True, 3)] = row["accuracy"]
  for key, label in (("others_kept", "others kept, worst switch"),
                     ("others_kept_at_best", "others kept at the best point, worst switch"),
                     ("others_kept_at_densest", "others kept at the densest point, worst switch")):
    kept = [row[key] for row in table["rows"] if key in row]
    if kept:
      out[Figure(label, True, 3)] = min(kept)
  return out


def _method2(table: dict[str, Any]) -> dict[Figure, float]:
  names = {"target_changed": "target-changed", "target_changed_on": "target-changed, on",
           "target_changed_off": "target-changed, off",
           "target_changed_on_style_given": "target-changed, on, style given",
           "original_changed": "original-changed", "target_original": "target-original"}
  return {Figure(label, False, 5): table["mean"][key] for key, label in names.items()
          if key in table["mean"]}


def _styles(table: dict[str, Any]) -> dict[Figure, float]:
  return {Figure(f"{name} styles {measure}", True, 2): float(value[key])
          for name, value in table.items() if isinstance(value, dict) and "points" in value
          for key, measure in (("styles_per_subject", "per face"), ("styles_by_point", "by point"))}


def figures(run: dict[str, Any]) -> dict[Figure, float]:
  """The comparable numbers of one run's tables."""
  out = _method1(run["table1"])
  if "table2" in run:
    out.update(_method2(run["table2"]))
  if "styles" in run:
    out.update(_styles(run["styles"]))
  return out


def stats(values: list[float]) -> dict[str, Any]:
  """{"mean", "sd" (sample sd, ddof=1; None for one value), "n", "values"}."""
  sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
  return {"mean": float(np.mean(values)), "sd": sd, "n": len(values), "values": list(values)}


def paired(a: dict[int, float], b: dict[int, float], higher_is_better: bool) -> dict[str, Any]:
  """A against b on the seeds both have: {"seeds", "differences" (a - b per seed), "mean", "sd"
  (ddof=1), "a_better" (seeds where a is better), "n", "t" (mean / (sd / sqrt(n)); None when
  undefined)}."""
  seeds = sorted(set(a) & set(b))
  diffs = [a[s] - b[s] for s in seeds]
  better = sum((d > 0) if higher_is_better else (d < 0) for d in diffs)
  out = {"seeds": seeds, "differences": diffs, "a_better": int(better), "n": len(seeds)}
  s = stats(diffs) if diffs else {"mean": None, "sd": None}
  t = (s["mean"] / (s["sd"] / math.sqrt(len(diffs)))) if s["sd"] else None
  return {**out, "mean": s["mean"], "sd": s["sd"], "t": t}


def choose_setting(runs: dict[str, dict[str, float]]) -> str:
  """A screen's rule: the setting with the smallest sum of its ranks on Method 1 (higher is
  better) and on target-changed (lower is better); ties go to the lower target-changed.

  Args:
    runs: {setting: {"Method 1": value, "target-changed": value, ...}}, e.g. `figures` by name.
  """
  names = list(runs)
  def ranks(key: str, higher_is_better: bool) -> dict[str, int]:
    order = sorted(names, key=lambda n: -runs[n][key] if higher_is_better else runs[n][key])
    return {n: order.index(n) for n in names}
  method1, target = ranks("Method 1", True), ranks("target-changed", False)
  return min(names, key=lambda n: (method1[n] + target[n], runs[n]["target-changed"]))


def summarise(results: dict[str, dict[int, dict[str, Any]]],
              reference: Optional[str] = "csvae",
              merged: Optional[dict[str, dict[int, dict[Figure, float]]]] = None
              ) -> dict[str, Any]:
  """Per kind, `stats` of every figure over its seeds; and `reference` (if run) paired against
  each other kind on every figure both have on a common seed.

  Args:
    results: {kind: {seed: run}}.
    merged: {kind: {seed: figures}} of runs summarised before (`runs_of` of an earlier summary,
      e.g. one written on another machine); a run of `results` replaces a merged run of the same
      kind and seed.

  Returns:
    {"figures": {name: {"higher_is_better", "digits"}}, "kinds": {kind: {name: stats}},
     "paired": {other kind: {name: paired(reference, other)}},
     "runs": {kind: {seed: {name: value}}} (every seed's figures; `runs_of` reads them back)}.
  """
  per_kind = {kind: dict(by_seed) for kind, by_seed in (merged or {}).items()}
  for kind, runs in results.items():
    per_kind.setdefault(kind, {}).update({seed: figures(run) for seed, run in runs.items()})
  per_kind = {kind: dict(sorted(by_seed.items())) for kind, by_seed in per_kind.items()}
  order: dict[Figure, None] = {}  # every figure, in the order the runs' tables give them
  for by_seed in per_kind.values():
    for seed_figures in by_seed.values():
      order.update(dict.fromkeys(seed_figures))
  def values(by_seed, figure):
    return {seed: v[figure] for seed, v in by_seed.items() if figure in v}
  out = {"figures": {f.name: {"higher_is_better": f.higher_is_better, "digits": f.digits}
                     for f in order},
         "kinds": {kind: {f.name: stats(list(values(by_seed, f).values())) for f in order
                          if values(by_seed, f)}
                   for kind, by_seed in per_kind.items()},
         "paired": {},
         "runs": {kind: {str(seed): {f.name: v for f, v in seed_figures.items()}
                         for seed, seed_figures in by_seed.items()}
                  for kind, by_seed in per_kind.items()}}
  if reference in per_kind:
    ref = per_kind[reference]
    for kind, by_seed in per_kind.items():
      if kind != reference:
        out["paired"][kind] = {f.name: paired(values(ref, f), values(by_seed, f),
                                              f.higher_is_better)
                               for f in order if set(values(ref, f)) & set(values(by_seed, f))}
  return out


def runs_of(summary: dict[str, Any]) -> dict[str, dict[int, dict[Figure, float]]]:
  """Every seed's figures in a summary that `summarise` wrote: {kind: {seed: figures}}."""
  meta = summary["figures"]
  return {kind: {int(seed): {Figure(name, meta[name]["higher_is_better"], meta[name]["digits"]):
                             value for name, value in named.items()}
                 for seed, named in by_seed.items()}
          for kind, by_seed in summary["runs"].items()}


def _cell(s: dict[str, Any], digits: int) -> str:
  if s["sd"] is None:
    return f"{s['mean']:.{digits}f}"
  return f"{s['mean']:.{digits}f} ± {s['sd']:.{digits}f}"


def markdown(summary: dict[str, Any], names: dict[str, str], note: str,
             reference: str = "csvae") -> str:
  """The summary as two Markdown tables: the figures (rows) of each kind (columns), mean ± sample
  sd over seeds; then `reference` against each other kind, paired by seed.

  Args:
    names: {kind: display name}.
  """
  kinds = list(summary["kinds"])
  lines = [note + "\n", "| figure | " + " | ".join(names[k] for k in kinds) + " |",
           "|---" * (len(kinds) + 1) + "|"]
  for name, meta in summary["figures"].items():
    cells = [_cell(summary["kinds"][k][name], meta["digits"]) if name in summary["kinds"][k]
             else "" for k in kinds]
    arrow = "↑" if meta["higher_is_better"] else "↓"
    lines.append(f"| {name} {arrow} | " + " | ".join(cells) + " |")
  if summary["paired"]:
    lines += ["", f"{names[reference]} against each kind, paired by seed (difference = "
              f"{names[reference]} minus the other; better: the seeds where "
              f"{names[reference]} is better):", "",
              "| figure | kind | mean difference ± sd | better | t |", "|---|---|---|---|---|"]
    for kind, comparisons in summary["paired"].items():
      for name, meta in summary["figures"].items():
        if name not in comparisons:
          continue
        c, digits = comparisons[name], meta["digits"] + 1
        sd = "" if c["sd"] is None else f" ± {c['sd']:.{digits}f}"
        t = "" if c["t"] is None else f"{c['t']:.2f}"
        lines.append(f"| {name} | {names[kind]} | {c['mean']:+.{digits}f}{sd} | "
                     f"{c['a_better']}/{c['n']} | {t} |")
  return "\n".join(lines) + "\n"
