"""Figures over seeds: sample spreads and paired comparisons."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats

from configs import procedural
from configs import procedural_missing_labels
from configs import tiny
from configs import tiny_images
from csvae_jax import experiment
from csvae_jax import summary
from csvae_jax import trainer


def _run(method1, target_changed):
  """A run's tables reduced to what `summary.figures` reads."""
  rows = [{"attribute": "a", "to": to, "accuracy": method1, "others_kept": 1.0}
          for to in ("absent", "present")]
  return {"table1": {"rows": rows, "mean_accuracy": method1},
          "table2": {"mean": {"target_changed": target_changed}}}


def test_spreads_are_sample_standard_deviations():
  s = summary.stats([1.0, 2.0, 4.0])
  assert s["mean"] == pytest.approx(7 / 3)
  assert s["sd"] == pytest.approx(np.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2
                                           + (4 - 7 / 3) ** 2) / 2))
  assert s["values"] == [1.0, 2.0, 4.0] and summary.stats([3.0])["sd"] is None


def test_paired_comparison_by_seed():
  a = {10: 0.90, 11: 0.95, 12: 0.97, 13: 0.80, 15: 0.10}  # seeds 14 and 15 have no partner
  b = {10: 0.85, 11: 0.96, 12: 0.90, 13: 0.70, 14: 0.99}
  c = summary.paired(a, b, higher_is_better=True)
  assert c["seeds"] == [10, 11, 12, 13] and c["a_better"] == 3 and c["n"] == 4
  seeds = c["seeds"]
  t = scipy_stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).statistic
  assert c["t"] == pytest.approx(t)
  assert summary.paired(a, b, higher_is_better=False)["a_better"] == 1


def test_summary_pairs_csvae_with_each_kind_on_its_seeds():
  results = {"csvae": {0: _run(0.9, 0.005), 1: _run(0.8, 0.006)},
             "vae": {0: _run(0.5, 0.007), 1: _run(0.6, 0.004)}}
  out = summary.summarise(results)
  assert list(out["paired"]) == ["vae"]  # CSVAE is not paired with itself
  assert out["kinds"]["vae"]["Method 1"]["values"] == [0.5, 0.6]
  m1, tc = out["paired"]["vae"]["Method 1"], out["paired"]["vae"]["target-changed"]
  assert m1["differences"] == pytest.approx([0.4, 0.2]) and m1["a_better"] == 2
  assert tc["differences"] == pytest.approx([-0.002, 0.002]) and tc["a_better"] == 1
  assert out["figures"]["target-changed"]["higher_is_better"] is False
  text = summary.markdown(out, {"csvae": "CSVAE", "vae": "VAE"}, "note")
  assert "| Method 1 ↑ | 0.850 ± 0.071 | 0.550 ± 0.071 |" in text
  assert "| target-changed ↓ | 0.00550 ± 0.00071 | 0.00550 ± 0.00212 |" in text
  assert "| Method 1 | VAE | +0.3000 ± 0.1414 | 2/2 | 3.00 |" in text


def test_the_styles_figures_are_read_per_attribute():
  run = _run(0.9, 0.005)
  run["styles"] = {"seed": 3, "classifier": {"label_accuracy": 1.0},
                   "Eyeglasses": {"points": 25, "styles_per_subject": 2.5, "styles_by_point": 3},
                   "Smiling": {"points": 25, "styles_per_subject": 1.75, "styles_by_point": 2}}
  named = {f.name: (value, f.higher_is_better) for f, value in summary.figures(run).items()}
  assert {k: v for k, v in named.items() if "styles" in k} == {
      "Eyeglasses styles per face": (2.5, True), "Eyeglasses styles by point": (3.0, True),
      "Smiling styles per face": (1.75, True), "Smiling styles by point": (2.0, True)}


def test_a_screen_chooses_by_rank_sum_then_target_changed():
  def run(method1, target_changed):
    return {"Method 1": method1, "target-changed": target_changed}
  # Best on both counts wins, wherever it stands in the dict.
  assert summary.choose_setting({"a": run(0.95, 0.005), "b": run(0.99, 0.004),
                                 "c": run(0.97, 0.006)}) == "b"
  # Equal rank sums (a: 0 + 1, b: 1 + 0): the lower target-changed.
  assert summary.choose_setting({"a": run(0.99, 0.005), "b": run(0.98, 0.004)}) == "b"
  # Ranks, not raw values: a tiny lead on Method 1 and on target-changed beats a large one on one.
  assert summary.choose_setting({"a": run(0.999, 0.0050), "b": run(0.900, 0.0049),
                                 "c": run(0.998, 0.0048)}) == "c"


def test_a_summary_merges_with_runs_summarised_before():
  # Seeds 10-11 summarised on one machine, 12 (and a redone 11) on another.
  before = summary.summarise({"csvae": {10: _run(0.9, 0.005), 11: _run(0.8, 0.006)},
                              "vae": {10: _run(0.5, 0.007), 11: _run(0.6, 0.004)}})
  earlier = summary.runs_of(json.loads(json.dumps(before)))  # as read back from summary.json
  out = summary.summarise({"csvae": {12: _run(0.7, 0.003), 11: _run(0.85, 0.006)},
                           "vae": {12: _run(0.4, 0.008)}}, merged=earlier)
  assert out["kinds"]["csvae"]["Method 1"]["values"] == [0.9, 0.85, 0.7]
  m1 = out["paired"]["vae"]["Method 1"]
  assert m1["seeds"] == [10, 11, 12] and m1["differences"] == pytest.approx([0.4, 0.25, 0.3])
  assert out["paired"]["vae"]["target-changed"]["a_better"] == 2
  assert list(out["runs"]["csvae"]) == ["10", "11", "12"]
  # A figure that the two kinds have on no common seed (older tables lacked it) is not paired,
  # and the tables are still written.
  only_new = summary.summarise({"csvae": {12: _run(0.7, 0.003)}, "vae": {13: _run(0.5, 0.007)}})
  assert only_new["paired"]["vae"] == {}
  assert "| Method 1 ↑ | 0.700 | 0.500 |" in summary.markdown(only_new, {"csvae": "CSVAE",
                                                                      "vae": "VAE"}, "note")
  # Nothing new: the merged summary is the one read back.
  assert summary.summarise({}, merged=earlier) == json.loads(json.dumps(before))


def test_others_kept_is_the_worst_switch_at_each_point():
  rows = [{"attribute": "a", "to": "present", "accuracy": 1.0, "others_kept": 0.8,
           "others_kept_at_best": 0.97},
          {"attribute": "a", "to": "absent", "accuracy": 1.0, "others_kept": 0.99,
           "others_kept_at_best": 0.95}]
  table1 = {"rows": rows, "mean_clean": 0.7, "mean_clean_off": 0.6, "mean_clean_at_best": 0.9}
  named = {f.name: v for f, v in summary.figures({"table1": table1}).items()}
  assert named["others kept, worst switch"] == 0.8
  assert named["others kept at the best point, worst switch"] == 0.95
  assert (named["switched with the others kept"], named["switched with the others kept, off"],
          named["switched with the others kept at the best point"]) == (0.7, 0.6, 0.9)


def test_each_switch_of_exclusive_labels_is_its_own_figure():
  """TFD's rows name the target as attribute and to: one figure per source class, not one."""
  rows = [{"attribute": "happy", "from": source, "to": "happy", "accuracy": accuracy}
          for source, accuracy in (("anger", 0.5), ("sad", 0.75))]
  rows.append({"attribute": "Smiling", "from": "absent", "to": "present", "accuracy": 1.0})
  named = {f.name: v for f, v in summary.figures({"table1": {"rows": rows}}).items()}
  assert named == {"anger → happy": 0.5, "sad → happy": 0.75, "Smiling → present": 1.0}


def test_a_screen_merges_the_runs_of_earlier_screens(tmp_path):
  """scripts/screen.py with no kind to train: the tables and choices of two earlier screens, where
  the later one's run of the same kind and setting replaces the earlier one's."""
  def run(setting, method1, target_changed):
    figures = {"Method 1": method1, "Method 1 at the best point": 1.0,
               "others kept, worst switch": 0.9, "target-changed": target_changed,
               "target-changed, on": target_changed, "target-changed, off": target_changed,
               "Eyeglasses styles per face": 2.0}
    return {"overrides": {"setting": setting}, "figures": figures, "train_seconds": 1.0}
  first = {"csvae": {"default": run("default", 0.99, 0.004), "lr_x2": run("lr_x2", 0.98, 0.005)}}
  later = {"csvae": {"lr_x2": run("lr_x2 again", 0.999, 0.003)},
           "vae": {"default": run("vae default", 0.5, 0.009)}}
  for name, runs in (("first", first), ("later", later)):
    (tmp_path / f"{name}.json").write_text(json.dumps({"runs": runs}))
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "scripts/screen.py", "--config", "configs/procedural.py",
                  "--workdir", str(tmp_path / "screen"), "--kinds=",
                  f"--merge={tmp_path / 'first.json'},{tmp_path / 'later.json'}"],
                 cwd=root, check=True, capture_output=True)
  best = json.loads((tmp_path / "screen" / "best_settings.json").read_text())
  assert best == {"vae": {"setting": "vae default"}, "csvae": {"setting": "lr_x2 again"}}
  table = (tmp_path / "screen" / "screen.md").read_text()
  assert "| CSVAE | lr_x2 (chosen) | 0.999 |" in table and "| CSVAE | default | 0.990 |" in table


def test_a_comparison_of_runs_copied_with_their_tables_alone(tmp_path):
  """scripts/compare.py over runs brought from another machine without checkpoints: nothing is
  trained, the summary pairs them, and the kinds figures (which need models) are left out."""
  config = tiny_images.get_config()
  for kind, seed, method1 in (("csvae", 0, 0.9), ("csvae", 1, 0.8),
                              ("condvae_info", 0, 0.7), ("condvae_info", 1, 0.75)):
    folder = tmp_path / "compare" / kind / f"seed{seed}" / "eval"
    folder.mkdir(parents=True)
    rows = [{"attribute": "Eyeglasses", "from": "absent", "to": "present", "accuracy": method1}]
    table1 = {"step": config.train.num_steps, "rows": rows, "mean_accuracy": method1}
    (folder / "table1.json").write_text(json.dumps(table1))
    (folder / "table2.json").write_text(json.dumps({"mean": {"target_changed": 0.005}}))
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "scripts/compare.py", "--config", "configs/tiny_images.py",
                  f"--config.data.data_dir={tmp_path / 'data'}", "--seeds=0,1",
                  "--workdir", str(tmp_path / "compare"), "--kinds=csvae,condvae_info"],
                 cwd=root, check=True, capture_output=True)
  out = json.loads((tmp_path / "compare" / "summary.json").read_text())
  assert out["runs"]["csvae"] == {"0": {"Method 1": 0.9, "Eyeglasses → present": 0.9,
                                        "target-changed": 0.005},
                                  "1": {"Method 1": 0.8, "Eyeglasses → present": 0.8,
                                        "target-changed": 0.005}}
  assert out["paired"]["condvae_info"]["Method 1"]["a_better"] == 2
  assert not list((tmp_path / "compare").glob("*.png"))


def test_label_fractions_summarise_every_finished_run_of_each_fraction(tmp_path):
  """scripts/label_fractions.py run for one method finds another method's run, trained by an
  earlier invocation, in the same fraction's folder: both are summarised and paired, q(y|x)'s
  accuracy read where the model has one; nothing is trained (every table is there)."""
  steps = tiny_images.get_config().train.num_steps
  for method, method1, accuracy in (("labelled_only", 0.9, None), ("semi_csvae", 0.95, 0.97)):
    folder = tmp_path / "lf" / "F0.1" / method / "seed10" / "eval"
    folder.mkdir(parents=True)
    rows = [{"attribute": "Eyeglasses", "from": "absent", "to": "present", "accuracy": method1}]
    for suffix in ("", "_validation"):
      (folder / f"table1{suffix}.json").write_text(json.dumps(
          {"step": steps, "rows": rows, "mean_accuracy": method1}))
      (folder / f"table2{suffix}.json").write_text(json.dumps({"mean": {"target_changed": 0.005}}))
    if accuracy is not None:
      (folder / "metrics.json").write_text(json.dumps({"label_inference_accuracy": accuracy}))
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "scripts/label_fractions.py", "--config",
                  "configs/tiny_images.py", "--workdir", str(tmp_path / "lf"),
                  "--runs=0.1=10", "--methods=labelled_only"],
                 cwd=root, check=True, capture_output=True)
  out = json.loads((tmp_path / "lf" / "summary_0.1.json").read_text())
  assert out["runs"]["labelled_only"]["10"]["Method 1"] == 0.9
  assert out["runs"]["semi_csvae"]["10"]["Method 1"] == 0.95
  assert out["kinds"]["semi_csvae"]["q(y|x) accuracy"]["mean"] == 0.97
  assert "q(y|x) accuracy" not in out["kinds"]["labelled_only"]
  assert out["paired"]["labelled_only"]["Method 1"]["a_better"] == 1
  curves = json.loads((tmp_path / "lf" / "label_fractions.json").read_text())
  assert sorted(curves) == ["labelled_only", "semi_csvae"] and list(curves["semi_csvae"]) == ["0.1"]
  assert (tmp_path / "lf" / "label_fractions.png").stat().st_size > 1000


def test_a_learning_curve_reads_each_kept_checkpoints_own_tables(tmp_path):
  """scripts/learning_curve.py: one point per checkpoint kept, in step order, each from the tables
  of its step (eval_stepN/, the last step's eval/), of the split asked for; none is recomputed."""
  config = tiny_images.get_config()
  config.train.ckpt_every = 10
  config.data.data_dir = str(tmp_path / "data")
  run = tmp_path / "curve" / "csvae" / "seed0"
  run.parent.mkdir(parents=True)
  trainer.train_and_evaluate(config, str(run))
  for folder, method1, target_changed in (("eval_step10", 0.6, 0.009), ("eval", 0.8, 0.007)):
    (run / folder).mkdir(exist_ok=True)
    for suffix, shift in (("_validation", 0.0), ("", 0.1)):  # the test split's must not be read
      (run / folder / f"table1{suffix}.json").write_text(json.dumps(
          {"step": 0, "rows": [], "mean_accuracy": method1 + shift}))
      (run / folder / f"table2{suffix}.json").write_text(json.dumps(
          {"mean": {"target_changed": target_changed + shift}}))
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "scripts/learning_curve.py", "--workdir", str(tmp_path / "curve"),
                  "--kinds=csvae", "--seed=0"], cwd=root, check=True, capture_output=True)
  curve = json.loads((tmp_path / "curve" / "learning_curve_validation.json").read_text())
  assert curve == {"csvae": [{"step": 10, "method1": 0.6, "target_changed": 0.009},
                             {"step": 20, "method1": 0.8, "target_changed": 0.007}]}
  assert (tmp_path / "curve" / "learning_curve_validation.png").stat().st_size > 1000


def test_overrides_set_fields_of_a_copy_and_refuse_unknown_ones():
  base = tiny.get_config()
  config = experiment.with_overrides(base, {"seed": 7, "model.kind": "condvae"})
  assert (config.seed, config.model.kind) == (7, "condvae")
  assert base.to_dict() == tiny.get_config().to_dict()
  for key in ("model.z_dimm", "modle.z_dim", "seed.value"):
    with pytest.raises(KeyError, match=f"Unknown config field '{key}' in the overrides"):
      experiment.with_overrides(base, {key: 1})


def test_label_fraction_runs_take_the_semi_supervised_settings_only_where_labels_are_missing():
  """Each method's config: the kind's own settings, the seed for the model and the labelled
  examples, the fraction, the method's data and model; the semi-supervised objective's settings
  given on the command line reach the semi-supervised methods and no other."""
  base = experiment.with_overrides(tiny_images.get_config(), {
      "model.adversary_labels": "inferred", "model.missing_labels": "likeliest",
      "loss.unlabelled_ramp_steps": 100, "loss.label_confidence": 0.9,
      "train.labelled_per_batch": 8})
  settings = {"csvae": {"optim.vae.learning_rate": 0.004, "data.unlabelled": "pseudo"},
              "condvae": {"model.z_dim": 3, "seed": 99}}  # the method's data and seed win
  expected = {"labelled_only": ("csvae", "drop", False, "observed", "expectation", 0, 0, 0),
              "pseudo_labels": ("csvae", "pseudo", False, "observed", "expectation", 0, 0, 0),
              "semi_csvae": ("csvae", "missing", True, "inferred", "likeliest", 100, 0.9, 8),
              "semi_condvae": ("condvae", "missing", True, "inferred", "likeliest", 100, 0.9, 8)}
  for method, want in expected.items():
    c = experiment.label_fraction_config(base, method, 0.1, 11, settings)
    assert (c.model.kind, c.data.unlabelled, c.model.infer_labels, c.model.adversary_labels,
            c.model.missing_labels, c.loss.unlabelled_ramp_steps,
            c.loss.label_confidence, c.train.labelled_per_batch) == want, method
    assert (c.seed, c.data.label_seed, c.data.label_fraction) == (11, 11, 0.1)
    assert c.optim.vae.learning_rate == (0.004 if want[0] == "csvae"
                                         else base.optim.vae.learning_rate)
    assert c.model.z_dim == (3 if want[0] == "condvae" else base.model.z_dim)
  assert base.model.adversary_labels == "inferred" and base.data.label_fraction == 1.0


def test_the_missing_labels_config_is_the_experiments_semi_supervised_csvae():
  """configs/procedural_missing_labels.py is the run its docstring quotes: the label-fraction
  command's semi_csvae at 0.1 (screen settings, the likeliest-label flags), seed 0."""
  settings = json.loads(pathlib.Path(
      "docs/experiments/2026-12-02-protocol-screen/best_settings.json").read_text())
  base = experiment.with_overrides(procedural.get_config(), {
      "loss.alpha": 1.0, "model.adversary_labels": "inferred",
      "loss.unlabelled_ramp_steps": 1000, "model.missing_labels": "likeliest"})
  run = experiment.label_fraction_config(base, "semi_csvae", 0.1, 0, settings)
  assert procedural_missing_labels.get_config().to_dict() == run.to_dict()


def test_a_comparison_collects_the_runs_whose_tables_are_of_its_last_step(tmp_path):
  """ROOT/KIND/seedS/eval: tables of the split at the last step count; stale ones, other splits
  and files beside the kinds do not."""
  def write(run, name, step):
    (tmp_path / run / "eval").mkdir(parents=True, exist_ok=True)
    (tmp_path / run / "eval" / name).write_text(json.dumps({"step": step, "name": name}))
  write("csvae/seed3", "table1_validation.json", 100)
  write("csvae/seed3", "table2_validation.json", 100)
  write("csvae/seed12", "table1_validation.json", 100)
  write("csvae/seed4", "table1_validation.json", 50)      # stopped early
  write("condvae/seed3", "table1.json", 100)              # the test split's
  (tmp_path / "summary.json").write_text("{}")
  found = experiment.collect(str(tmp_path), "validation", 100)
  assert found == {"csvae": {
      3: {"table1": {"step": 100, "name": "table1_validation.json"},
          "table2": {"step": 100, "name": "table2_validation.json"}},
      12: {"table1": {"step": 100, "name": "table1_validation.json"}}}}
