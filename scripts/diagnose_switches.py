r"""Where an edit's distance from the true edit comes from, per switch, for trained models of the
procedural faces (docs/experiments/2026-12-02-protocol-screen/, "Switching off").

  python scripts/diagnose_switches.py --workdirs runs/screen/csvae/default,runs/screen/condvae_info/default \
      --classifier_dir runs/screen/classifier --out runs/screen/diagnosis

On `--split` (validation: the points are searched on train) and for each switch, over the same
pairs (x1, x2 = x1 re-rendered by the generator with the attribute switched):
  target_changed_paper    MSE(x2, G(x1)) at the paper's point (`switching.paper_point`: the
                          edit's default but for CSVAE switching on);
  target_changed_best     the same at the point searched as Method 2 does (`tables.best_point`);
  redraw_target           MSE(x2, reconstruction of x2): how close the decoder comes to the truth
                          when it is given the truth itself, a floor for any edit through it;
  redraw_input            MSE(x1, reconstruction of x1);
  edit_gap                target_changed_best - redraw_target: what the edit adds to the decoder's
                          own error (the point, and what z still holds of the attribute);
  others_flipped          per other label, the share of edits whose label the classifier reads
                          differently than on x1 (e.g. a smile drawn under a new beard); the same
                          for the reconstruction of x1 (`_reconstruction`: the decoder alone), for
                          x2 (`_truth`), at the best point (`_best`) and, switching on, at each
                          point of the styles grid (`_points`: the point, the share of edits read
                          as present, their likeliest style, each label's flips).
For CSVAE, switching on, where the paper's point lies among the encodings it averages (w_j of the
examples with attribute j, `switch_points.compute`):
  density_at_paper        the share of those encodings within 0.5 of the paper's point, over the
                          mean share within 0.5 of each encoding: below 1, the mean lies where
                          fewer examples are encoded than around a typical one (between styles);
  densest                 the encoding with the most others within 0.5 (`switch_points.densest`;
                          the edit's default is that of the held-out encodings): its density
                          as above, the flips of its edits, the share read as present and their
                          target-changed;
  others_flipped_style_means  the flips at the mean encoding of each true style of the attribute
                          (the generator's `<attribute>_style`, where the data have it), points
                          where examples are encoded;
  w_reads_others          balanced accuracy of a logistic probe of each other label from w_j,
                          trained on the search split's examples with attribute j, scored on
                          --split's (0.5: w_j holds none of it).
Writes diagnosis.{json,md} into --out. (Diagnoses written before the densest encoding became the
default, 2026-12-04, name the paper's point "default": target_changed_default, density_at_default.)
"""

import json
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np

import csvae_jax
from csvae_jax import classifier as classifier_lib
from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import evaluate
from csvae_jax import paths
from csvae_jax import switch_points
from csvae_jax import switching
from csvae_jax import tables

flags.DEFINE_list("workdirs", None, "Trained runs on the same data.")
flags.DEFINE_string("classifier_dir", None, "The attribute classifier of that data.")
flags.DEFINE_enum("split", "validation", ["validation", "test"], "The split scored.")
flags.DEFINE_integer("pairs", 256, "Pairs per switch.")
flags.DEFINE_string("out", None, "Where diagnosis.{json,md} go.")
flags.mark_flags_as_required(["workdirs", "classifier_dir", "out"])

def diagnose(model, clf, dataset, split_name: str, num_pairs: int) -> list[dict]:
  """One row per switch: the figures of the module docstring."""
  traits, names = dataset.traits, model.spec.label_names
  split = dataset.splits[split_name]
  search = dataset.splits[evaluate.SEARCH_SPLIT[split_name]]
  edit = tables.model_edit(model, traits.exclusive)
  rows = []
  for switch in tables.switches(names, traits.exclusive):
    idx, targets = tables.pairs(split, switch, names, num_pairs, traits)
    search_pairs = tables.pairs(search, switch, names, 128, traits)
    x1, y1 = split["x"][idx], split["y"][idx]
    best, _, _ = tables.best_point(model, edit, switch, search, search_pairs)
    at_paper = edit(x1, y1, switch.j, switch.on,
                    switching.paper_point(model, switch.j, switch.on))
    at_best = edit(x1, y1, switch.j, switch.on, best)
    redraw = lambda x, y: switching.to_uint8(model.reconstruct(x, y))
    row = {**switch.public, "pairs": int(len(idx)), "best_point": np.asarray(best).tolist(),
           "target_changed_paper": float(tables.mse(targets, at_paper).mean()),
           "target_changed_best": float(tables.mse(targets, at_best).mean()),
           "redraw_target": float(tables.mse(targets, redraw(
               targets, switch.switched_labels(y1))).mean()),
           "redraw_input": float(tables.mse(x1, redraw(x1, y1)).mean())}
    row["edit_gap"] = row["target_changed_best"] - row["redraw_target"]
    before = clf.predicted_labels(x1)
    def changed(after):  # {other label: share of the labels after [N, k] that differ from x1's}
      return {names[i]: float(np.mean(before[:, i] != after[:, i]))
              for i in range(len(names)) if i != switch.j}
    def flipped(images):  # changed() of the classifier's reading of images [N, ...]
      return changed(clf.predicted_labels(images))
    row["others_flipped"] = flipped(at_paper)
    row["others_flipped_reconstruction"] = flipped(redraw(x1, y1))
    row["others_flipped_truth"], row["others_flipped_best"] = flipped(targets), flipped(at_best)
    if switch.on and model.spec.has_w:
      name = f"factor/{names[switch.j]}_style"
      w_search, idx_search = tables.present_w(model, search, switch.j)
      w_scored, idx_scored = tables.present_w(model, split, switch.j)
      typical = switch_points.near_share(w_search, w_search).mean()
      paper = switching.paper_point(model, switch.j, True)
      row["density_at_paper"] = float(switch_points.near_share(w_search, paper[None])[0] / typical)
      densest, density = switch_points.densest(w_search)
      at_densest = edit(x1, y1, switch.j, True, densest)
      read = clf.predicted_labels(at_densest)
      row["densest"] = {
          "point": densest.tolist(), "density": density,
          "flipped": changed(read), "present": float(np.mean(read[:, switch.j] > 0.5)),
          "target_changed": float(tables.mse(targets, at_densest).mean())}
      row["others_flipped_style_means"] = []
      if name in search:
        styles = search[name][idx_search]
        means = np.stack([w_search[styles == s].mean(0) for s in np.unique(styles)])
        row["others_flipped_style_means"] = [
            {"point": p.tolist(), "flipped": flipped(images)}
            for p, images in zip(means, edit(x1, y1, switch.j, True, means))]
      row["w_reads_others"] = {
          names[i]: evaluate.probe_accuracy(w_search, search["y"][idx_search, i],
                                            w_scored, split["y"][idx_scored, i])
          for i in range(len(names)) if i != switch.j}
    if switch.on:
      points = tables.style_points(model, switch.j, search)
      row["others_flipped_points"] = []
      for point, images in zip(points, edit(x1, y1, switch.j, True, points)):
        read = clf.predict(images)
        present = read["labels"][:, switch.j] > 0.5
        styles = np.bincount(read["styles"][present, switch.j], minlength=1)
        row["others_flipped_points"].append(
            {"point": np.asarray(point).tolist(), "present": float(present.mean()),
             "style": int(styles.argmax()), "flipped": flipped(images)})
    rows.append(row)
  return rows


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  f = flags.FLAGS
  out, lines, w_lines, dataset = {}, [], [], None
  as_text = lambda d: ", ".join(f"{k} {v:.2f}" for k, v in d.items())  # {label: share} as text
  for workdir in f.workdirs:
    model = csvae_jax.load(workdir)
    dataset = dataset or data_lib.load_evaluation_dataset(model.config.data)
    clf = classifier_lib.load_or_train(model.config, f.classifier_dir, dataset.splits,
                                       dataset.label_names, dataset.traits.exclusive,
                                       dataset.traits.num_styles)
    out[workdir] = diagnose(model, clf, dataset, f.split, f.pairs)
    for r in out[workdir]:
      flipped = ", ".join(f"{k} {v:.2f} ({r['others_flipped_reconstruction'][k]:.2f} / "
                          f"{r['others_flipped_truth'][k]:.2f} / {r['others_flipped_best'][k]:.2f})"
                          for k, v in r["others_flipped"].items())
      lines.append(f"| {workdir} | {r['attribute']} → {r['to']} | {r['target_changed_paper']:.5f}"
                   f" | {r['target_changed_best']:.5f} | {r['redraw_target']:.5f} | "
                   f"{r['redraw_input']:.5f} | {r['edit_gap']:.5f} | {flipped} |")
      if "density_at_paper" in r:
        means = "; ".join(as_text(m["flipped"]) for m in r["others_flipped_style_means"])
        d = r["densest"]
        w_lines.append(f"| {workdir} | {r['attribute']} | {r['density_at_paper']:.2f} | "
                       f"{as_text(r['others_flipped'])} | {means} | {d['density']:.2f}: "
                       f"{as_text(d['flipped'])}, present {d['present']:.2f}, target-changed "
                       f"{d['target_changed']:.5f} | {as_text(r['w_reads_others'])} |")
  header = ("| run | switch | target-changed, paper's point | at the best point | redraw of the "
            "target | redraw of the input | edit gap | others flipped (reconstruction / truth / best "
            "point) |\n" + "|---" * 8 + "|")
  folder = paths.resolve(f.out)
  folder.mkdir(parents=True, exist_ok=True)
  (folder / "diagnosis.json").write_text(json.dumps(out, indent=2))
  text = f"{f.split} split, {f.pairs} pairs per switch.\n\n{header}\n" + "\n".join(lines) + "\n"
  if w_lines:
    text += ("\nSwitching on, CSVAE: the paper's point among the encodings it averages.\n\n| run | "
             "attribute | density at the paper's point | others flipped there | at each style's "
             "mean encoding | at the densest encoding (its density: flips, read as present, "
             "target-changed) | others read from w_j (balanced accuracy) |\n" + "|---" * 7 + "|\n"
             + "\n".join(w_lines) + "\n")
  (folder / "diagnosis.md").write_text(text)
  print(text)


if __name__ == "__main__":
  app.run(main)
