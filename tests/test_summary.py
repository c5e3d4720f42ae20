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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(method1, target_changed):
  """A run's tables reduced to what `summary.figures` reads."""
  rows = [{"attribute": "a", "to": to, "accuracy": method1, "others_kept": 1.0}
          for to in ("absent", "present")]
  return {"table1": {"rows": rows, "mean_accuracy": method1},
          "table2": {"mean": {"target_changed": target_changed}}}


def _tables(run: pathlib.Path, step: int, test: tuple[float, float] | None,
            validation: tuple[float, float] = (0.5, 0.009)) -> None:
  """Writes run/eval's tables of the test split (unless None) and of validation: (Method 1,
  target-changed) of each."""
  (run / "eval").mkdir(parents=True)
  for suffix, figures in (("", test), ("_validation", validation)):
    if figures is None:
      continue
    method1, target_changed = figures
    rows = [{"attribute": "Eyeglasses", "from": "absent", "to": "present", "accuracy": method1}]
    (run / "eval" / f"table1{suffix}.json").write_text(json.dumps(
        {"step": step, "rows": rows, "mean_accuracy": method1}))
    (run / "eval" / f"table2{suffix}.json").write_text(json.dumps(
        {"mean": {"target_changed": target_changed}}))


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
  tied = summary.paired({1: 0.5, 2: 0.7}, {1: 0.5, 2: 0.6}, higher_is_better=True)
  assert tied["a_better"] == 1  # a tie is no seed where a is better
  assert summary.paired({1: 0.5}, {1: 0.5}, higher_is_better=False)["a_better"] == 0


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
  unordered = summary.summarise({"csvae": {2: _run(0.7, 0.003), 0: _run(0.9, 0.005)}})
  assert list(unordered["runs"]["csvae"]) == ["0", "2"]  # by seed, as given or not
  assert unordered["kinds"]["csvae"]["Method 1"]["values"] == [0.9, 0.7]
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
  """scripts/screen.py over the tables of two earlier screens, where the later one's run of the
  same kind and setting replaces the earlier one's, and a run of its own copied with its tables
  (a real run's, 2,500 steps: nothing is trained), read on validation; a setting that does not
  apply to the kind (beta_h without an adversary) is skipped."""
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
  copied = pathlib.Path("docs/experiments/2026-12-02-label-fractions/cpu_runs_lpb/F0.1/"
                        "semi_csvae/seed10")
  (tmp_path / "screen" / "condvae" / "default" / "eval").mkdir(parents=True)
  for path in copied.glob("*.json"):
    (tmp_path / "screen" / "condvae" / "default" / "eval" / path.name).write_text(
        path.read_text())
  subprocess.run([sys.executable, "scripts/screen.py", "--config", "configs/procedural.py",
                  "--workdir", str(tmp_path / "screen"), "--kinds=condvae",
                  "--settings=default,beta_h_div3",
                  f"--merge={tmp_path / 'first.json'},{tmp_path / 'later.json'}"],
                 cwd=REPO, check=True, capture_output=True)
  best = json.loads((tmp_path / "screen" / "best_settings.json").read_text())
  assert best == {"vae": {"setting": "vae default"}, "condvae": {},
                  "csvae": {"setting": "lr_x2 again"}}
  table = (tmp_path / "screen" / "screen.md").read_text()
  assert "| CSVAE | lr_x2 (chosen) | 0.999 |" in table and "| CSVAE | default | 0.990 |" in table
  own = json.loads((tmp_path / "screen" / "screen.json").read_text())["runs"]["condvae"]
  validation = json.loads((copied / "table1_validation.json").read_text())["mean_accuracy"]
  assert list(own) == ["default"] and own["default"]["train_seconds"] == 0.0
  assert own["default"]["figures"]["Method 1"] == validation  # 0.99732; on test 0.99803
  assert f"| CondVAE | default (chosen) | {validation:.3f} |" in table


def test_a_screen_refuses_a_misspelt_setting_before_any_run(tmp_path):
  result = subprocess.run([sys.executable, "scripts/screen.py", "--config",
                           "configs/tiny_images.py", "--workdir", str(tmp_path / "screen"),
                           "--settings=default,lr_2x"], cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 1
  assert "choose from default, lr_x2, z_x2, beta_h_div3." in result.stderr
  assert not (tmp_path / "screen").exists()


def test_a_comparison_of_runs_copied_with_their_tables_alone(tmp_path):
  """scripts/compare.py on the validation split over runs brought from another machine without
  checkpoints: nothing is trained; the summary pairs them, with the runs of an earlier summary
  (a run in the workdir replaces the merged one of its kind and seed); the kinds figures (which
  need models) are left out; runs.json gains this invocation, each run with its settings."""
  steps = tiny_images.get_config().train.num_steps
  workdir = tmp_path / "compare"
  for kind, seed, method1 in (("csvae", 0, 0.9), ("csvae", 1, 0.8),
                              ("condvae_info", 0, 0.7), ("condvae_info", 1, 0.75)):
    _tables(workdir / kind / f"seed{seed}", steps, None, validation=(method1, 0.005))
  (tmp_path / "earlier.json").write_text(json.dumps({
      "figures": {"Method 1": {"higher_is_better": True, "digits": 3}},
      "runs": {"csvae": {"1": {"Method 1": 0.1}, "2": {"Method 1": 0.95}},
               "condvae_info": {"2": {"Method 1": 0.6}}}}))
  (tmp_path / "settings.json").write_text(json.dumps({"csvae": {"model.z_dim": 3}}))
  (workdir / "runs.json").write_text(json.dumps({"invocations": [{"kinds": ["vae"]}]}))
  subprocess.run([sys.executable, "scripts/compare.py", "--config", "configs/tiny_images.py",
                  f"--config.data.data_dir={tmp_path / 'data'}", "--seeds=0,1",
                  "--workdir", str(workdir), "--kinds=csvae,condvae_info", "--split=validation",
                  f"--merge={tmp_path / 'earlier.json'}",
                  f"--settings={tmp_path / 'settings.json'}"],
                 cwd=REPO, check=True, capture_output=True)
  out = json.loads((workdir / "summary.json").read_text())
  assert out["runs"]["csvae"] == {"0": {"Method 1": 0.9, "Eyeglasses → present": 0.9,
                                        "target-changed": 0.005},
                                  "1": {"Method 1": 0.8, "Eyeglasses → present": 0.8,
                                        "target-changed": 0.005},
                                  "2": {"Method 1": 0.95}}
  assert out["kinds"]["condvae_info"]["Method 1"]["values"] == [0.7, 0.75, 0.6]
  assert out["paired"]["condvae_info"]["Method 1"]["a_better"] == 3
  assert out["settings"] == {"csvae": {"model.z_dim": 3}}
  invocations = json.loads((workdir / "runs.json").read_text())["invocations"]
  assert invocations[0] == {"kinds": ["vae"]} and invocations[1]["seeds"] == [0, 1]
  assert [(r["kind"], r["seed"], r["overrides"], r["train_seconds"])
          for r in invocations[1]["runs"]] == [("csvae", 0, {"model.z_dim": 3}, 0.0),
                                               ("condvae_info", 0, {}, 0.0),
                                               ("csvae", 1, {"model.z_dim": 3}, 0.0),
                                               ("condvae_info", 1, {}, 0.0)]
  assert not list(workdir.glob("*.png"))


def test_label_fractions_train_what_is_missing_and_summarise_every_finished_run(tmp_path):
  """scripts/label_fractions.py trains the one run of its --runs whose tables are missing (both
  splits), then summarises every finished run of each fraction on the test split, whichever
  invocation trained it: q(y|x)'s accuracy where every seed of a method has one, folders that are
  no fraction or hold no finished run left out, the reference's kinds as fraction 1.0."""
  steps = tiny_images.get_config().train.num_steps
  lf, ref = tmp_path / "lf", tmp_path / "ref"
  _tables(lf / "F0.1" / "labelled_only" / "seed10", steps, (0.9, 0.005))
  _tables(lf / "F0.1" / "labelled_only" / "seed11", steps, (0.8, 0.006))
  _tables(lf / "F0.1" / "semi_csvae" / "seed10", steps, (0.95, 0.004))
  (lf / "F0.1" / "semi_csvae" / "seed10" / "eval" / "metrics.json").write_text(
      json.dumps({"label_inference_accuracy": 0.97}))
  _tables(lf / "F0.1" / "old_method" / "seed10", steps, (0.1, 0.1))  # no method of the script's
  _tables(lf / "F0.01" / "semi_csvae" / "seed10", steps, (0.99, 0.005))
  _tables(lf / "F0.01" / "semi_condvae" / "seed10", steps, (0.7, 0.007))
  (lf / "F0.01" / "semi_condvae" / "seed10" / "eval" / "metrics.json").write_text(
      json.dumps({"label_inference_accuracy": 0.6}))
  _tables(lf / "F0.01" / "semi_condvae" / "seed11", steps, (0.75, 0.007))  # copied: no q(y|x)
  _tables(lf / "F0.5" / "semi_csvae" / "seed10", steps - 1, (0.99, 0.001))  # still training
  _tables(lf / "Figures" / "semi_csvae" / "seed10", steps, (0.99, 0.001))  # no fraction
  _tables(ref / "csvae" / "seed0", steps, (0.98, 0.003))
  _tables(ref / "condvae" / "seed0", steps, (0.6, 0.008))
  done = subprocess.run(
      [sys.executable, "scripts/label_fractions.py", "--config", "configs/tiny_images.py",
       f"--config.data.data_dir={tmp_path / 'data'}", "--workdir", str(lf), f"--reference={ref}",
       "--runs=0.1=10,11", "--methods=labelled_only,semi_csvae"],
      cwd=REPO, check=True, capture_output=True, text=True)
  trained = lf / "F0.1" / "semi_csvae" / "seed11"
  assert (trained / "eval" / "table1.json").exists()
  assert (trained / "eval" / "table1_validation.json").exists()
  assert not (lf / "F0.1" / "labelled_only" / "seed10" / "checkpoints").exists()
  out = json.loads((lf / "summary_0.1.json").read_text())
  assert list(out["runs"]) == ["labelled_only", "semi_csvae"]
  assert out["kinds"]["labelled_only"]["Method 1"]["values"] == [0.9, 0.8]  # test, not validation
  assert out["runs"]["semi_csvae"]["10"]["Method 1"] == 0.95 and "11" in out["runs"]["semi_csvae"]
  learnt = json.loads((trained / "eval" / "metrics.json").read_text())["label_inference_accuracy"]
  assert out["kinds"]["semi_csvae"]["q(y|x) accuracy"]["values"] == [0.97, learnt]
  assert "q(y|x) accuracy" not in out["kinds"]["labelled_only"]
  assert out["paired"]["labelled_only"]["Method 1"]["n"] == 2
  hundredth = json.loads((lf / "summary_0.01.json").read_text())
  assert "q(y|x) accuracy" not in hundredth["kinds"]["semi_condvae"]  # one seed has none
  assert not list(lf.glob("summary_0.5*"))
  text = (lf / "summary_0.1.md").read_text()
  assert "| q(y|x) accuracy ↑ |" in text and text in done.stdout
  curves = json.loads((lf / "label_fractions.json").read_text())
  assert list(curves["semi_csvae"]) == ["0.01", "0.1", "1.0"]  # the figure's lines, in order
  assert list(curves["labelled_only"]) == ["0.1", "1.0"]
  assert curves["labelled_only"]["1.0"]["Method 1"]["mean"] == 0.98  # the CSVAE's, on test
  assert curves["semi_condvae"]["1.0"]["Method 1"]["mean"] == 0.6  # the CondVAE's
  assert (lf / "label_fractions.png").stat().st_size > 1000


def test_a_learning_curve_reads_each_kept_checkpoints_own_tables(tmp_path):
  """scripts/learning_curve.py: one point per checkpoint kept, in step order, each from the tables
  of its step and of the split asked for (eval_stepN/, the last step's eval/): those there are
  read, not recomputed; those missing are computed from that step's checkpoint."""
  config = tiny_images.get_config()
  config.train.ckpt_every = 10
  config.data.data_dir = str(tmp_path / "data")
  run = tmp_path / "curve" / "csvae" / "seed0"
  run.parent.mkdir(parents=True)
  trainer.train_and_evaluate(config, str(run))
  (run / "eval").mkdir(exist_ok=True)
  for suffix, shift in (("_validation", 0.0), ("", 0.1)):  # the test split's must not be read
    (run / "eval" / f"table1{suffix}.json").write_text(json.dumps(
        {"step": 20, "rows": [], "mean_accuracy": 0.8 + shift}))
    (run / "eval" / f"table2{suffix}.json").write_text(json.dumps(
        {"mean": {"target_changed": 0.007 + shift}}))
  (run / "eval_step10").mkdir()  # an interrupted evaluation: table 1 alone
  (run / "eval_step10" / "table1_validation.json").write_text(json.dumps({"step": 10}))
  subprocess.run([sys.executable, "scripts/learning_curve.py", "--workdir", str(tmp_path / "curve"),
                  "--kinds=csvae", "--seed=0"], cwd=REPO, check=True, capture_output=True)
  curve = json.loads((tmp_path / "curve" / "learning_curve_validation.json").read_text())
  table1, table2 = (json.loads((run / "eval_step10" / f"{name}_validation.json").read_text())
                    for name in ("table1", "table2"))
  assert table1["step"] == 10 and table1["split"] == "validation"
  assert curve == {"csvae": [{"step": 10, "method1": table1["mean_accuracy"],
                              "target_changed": table2["mean"]["target_changed"]},
                             {"step": 20, "method1": 0.8, "target_changed": 0.007}]}
  assert not (run / "eval_step10" / "table1.json").exists()
  assert (tmp_path / "curve" / "learning_curve_validation.png").stat().st_size > 1000


def test_overrides_set_fields_of_a_copy_and_refuse_unknown_ones():
  base = tiny.get_config()
  config = experiment.with_overrides(base, {"seed": 7, "model.kind": "condvae"})
  assert (config.seed, config.model.kind) == (7, "condvae")
  assert base.to_dict() == tiny.get_config().to_dict()
  for key in ("model.z_dimm", "modle.z_dim", "seed.value"):
    with pytest.raises(KeyError, match=f"Unknown config field '{key}' in the overrides"):
      experiment.with_overrides(base, {key: 1})


def test_the_screen_gives_each_kind_the_settings_that_apply_to_it():
  """configs/procedural.py (learning rate 2e-3, z of 16, beta_h 100): every kind gets the doubled
  learning rate and z; only the kinds with an adversary get its weight divided by 3."""
  config = procedural.get_config()
  common = {"default": {}, "lr_x2": {"optim.vae.learning_rate": 0.004},
            "z_x2": {"model.z_dim": 32}}
  for kind in ("vae", "condvae"):
    assert experiment.screen_settings(config, kind) == common
  for kind in ("condvae_info", "csvae"):
    settings = experiment.screen_settings(config, kind)
    assert list(settings) == list(experiment.SCREEN_SETTINGS)
    assert settings == {**common, "beta_h_div3": {"loss.beta_h": pytest.approx(100 / 3)}}


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
