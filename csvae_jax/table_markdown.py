"""Tables 1 and 2 of one model (`tables.method1`, `tables.method2` with their metadata) as Markdown."""

from typing import Any

import numpy as np


def _point(point) -> str:
  return str(np.round(np.asarray(point, np.float64), 2).tolist())


def _header(table: dict[str, Any], title: str) -> str:
  accuracy = table["classifier"].get("label_accuracy")
  return (f"# {title}\n\n{table['model']} on {table['dataset']} ({table.get('split', 'test')} "
          f"split), seed {table['seed']}, checkpoint step {table['step']}; classifier test "
          f"accuracy {'n/a' if accuracy is None else f'{accuracy:.3f}'}.\n")


def _directions(table: dict[str, Any], key: str, digits: int = 3) -> str:
  """' (switching on A, off B)' from `key`_on and `key`_off, either absent where no example of
  the split could switch that way; '' without both."""
  parts = [f"{d} {table[f'{key}_{d}']:.{digits}f}" for d in ("on", "off") if f"{key}_{d}" in table]
  return f" (switching {', '.join(parts)})" if parts else ""


def table1(table: dict[str, Any]) -> str:
  """Table 1: a row per switch, at the paper's point and, where searched, at the model's best."""
  rows = table["rows"]
  columns = [k for k in ("others_kept", "clean", "reconstruction_keeps_target", "best_point",
                         "accuracy_at_best", "others_kept_at_best", "clean_at_best",
                         "densest_point", "accuracy_at_densest", "others_kept_at_densest",
                         "clean_at_densest")
             if any(k in r for r in rows)]
  lines = [_header(table, "Method 1: the classifier's accuracy on switched images"),
           "| attribute | from | to | examples | accuracy | unedited | "
           + "".join(f"{k.replace('_', ' ')} | " for k in columns),
           "|---|---|---|---|---|---|" + "---|" * len(columns)]
  for r in rows:
    cells = ["" if k not in r else _point(r[k]) if k.endswith("_point") else f"{r[k]:.3f}"
             for k in columns]
    lines.append(f"| {r['attribute']} | {r['from']} | {r['to']} | {r['examples']} | "
                 f"{r['accuracy']:.3f} | {r['unedited']:.3f} | " + "".join(c + " | " for c in cells))
  lines.append(f"\nMean accuracy at the paper's points: {table['mean_accuracy']:.3f}"
               + _directions(table, "mean_accuracy") + ".")
  if "mean_accuracy_at_best" in table:
    lines.append(f"Mean accuracy at each switch's best point (chosen on the search split): "
                 f"{table['mean_accuracy_at_best']:.3f}"
                 + _directions(table, "mean_accuracy_at_best") + ".")
  if "mean_clean" in table:
    lines.append(f"Mean share switched with every other label kept, at the paper's points: "
                 f"{table['mean_clean']:.3f}" + _directions(table, "mean_clean") + ".")
  if "mean_clean_at_best" in table:
    lines.append(f"The same at each switch's best point: {table['mean_clean_at_best']:.3f}"
                 + _directions(table, "mean_clean_at_best") + ".")
  if "mean_accuracy_at_densest" in table:
    lines.append(f"Mean accuracy at the default point, the densest encoding (switching on): "
                 f"{table['mean_accuracy_at_densest']:.3f}.")
  lines.append("\n(unedited: the share of the same images before the edit that the classifier "
               "already assigns the target; others kept: the share of edited images whose other "
               "labels it reads as before; reconstruction keeps target: the share of images that "
               "already have the target whose reconstruction it still assigns the target; clean: "
               "switched with every other label kept; densest "
               "point: CSVAE's default point of switching on, the held-out encoding of W_j with "
               "the most others near it, stored with the checkpoint.)")
  return "\n".join(lines) + "\n"


def table2(table: dict[str, Any]) -> str:
  """Table 2: a row per switch, then the style rows where the data know styles."""
  lines = [_header(table, "Method 2: MSE against the same identity with the target attribute"),
           "| attribute | from | to | pairs | point | widenings | target-changed | "
           "original-changed | target-original |", "|---|---|---|---|---|---|---|---|---|"]
  for r in table["rows"]:
    lines.append(f"| {r['attribute']} | {r['from']} | {r['to']} | {r['pairs']} | "
                 f"{_point(r['point'])}{'' if r['interior'] else ' (edge)'} | {r['widenings']} | "
                 f"{r['target_changed']:.5f} | {r['original_changed']:.5f} | "
                 f"{r['target_original']:.5f} |")
  m = table["mean"]
  lines.append(f"| mean | | | | | | {m['target_changed']:.5f} | {m['original_changed']:.5f} | "
               f"{m['target_original']:.5f} |")
  if directions := _directions(m, "target_changed", 5):
    lines.append(f"\nTarget-changed by direction{directions}.")
  lines.append("\nMSE per pixel and channel, images in [0, 1]; the point minimises target-changed "
               "on the search split's pairs, its range widened while the best lay on its edge.")
  if "style_rows" in table:
    lines += ["\nSwitching on with the style of the truth given (the point chosen per style):\n",
              "| attribute | style | pairs | point | target-changed | target-original |",
              "|---|---|---|---|---|---|"]
    for r in table["style_rows"]:
      lines.append(f"| {r['attribute']} | {r['style']} | {r['pairs']} | {_point(r['point'])} | "
                   f"{r['target_changed']:.5f} | {r['target_original']:.5f} |")
    lines.append(f"\nSwitching on, target-changed averaged over switches: "
                 f"{m['target_changed_on']:.5f} with the style unknown, "
                 f"{m['target_changed_on_style_given']:.5f} with it given.")
  return "\n".join(lines) + "\n"
