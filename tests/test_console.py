"""The command-line programs: bad input ends them with one line on stderr and exit code 2, the
traceback only with --verbosity=1; bugs keep their traceback; config files load from anywhere.
(tests/test_install.py runs csvae-edit on bad input, in an environment without TensorFlow.)"""

import json
import os
import re
import subprocess
import sys

from absl import flags
import clu
import numpy as np
import pytest

import celeba_fixtures
from configs import tiny
from configs import tiny_images
from csvae_jax import checkpoint
from csvae_jax import console
from csvae_jax import data as data_lib
from csvae_jax import switching
from csvae_jax import models
from csvae_jax import plots
from csvae_jax import trained_model
from csvae_jax import trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(x_shape=(32, 32, 3)) -> trained_model.TrainedModel:
  """A model as `load` gives it, without parameters: enough for the checks of its inputs."""
  spec = models.ModelSpec(kind="csvae", x_shape=x_shape, num_labels=3,
                          label_names=("Eyeglasses", "Facial_Hair", "Smiling"))
  return trained_model.TrainedModel(spec=spec, params=None, adversary_params=None,
                                    config=tiny_images.get_config(), step=20, workdir="w")


def _celeba(tmp_path, manual_dir):
  config = tiny.get_config().data
  config.name, config.manual_dir, config.data_dir = "celeba", manual_dir, str(tmp_path / "tfds")
  return data_lib.load_dataset(config)


def _malformed_celeba(tmp_path):
  folder = celeba_fixtures.write_celeba(str(tmp_path / "celeba"), 20)
  path = os.path.join(folder, "list_attr_celeba.txt")
  with open(path, newline="") as f:
    lines = f.read().split("\r\n")
  lines[3] = lines[3][:-2] + " 0"  # an attribute value of 0, not 1 or -1
  with open(path, "w", newline="") as f:
    f.write("\r\n".join(lines))
  return _celeba(tmp_path, folder)


def _unwritable_workdir(tmp_path):
  if os.geteuid() == 0:  # root writes through file modes; sysfs refuses even root.
    workdir = "/sys"
  else:
    workdir = tmp_path / "read_only"
    workdir.mkdir(mode=0o555)
  trainer.train_and_evaluate(tiny.get_config(), str(workdir))


def _incompatible_checkpoint(tmp_path):
  del tmp_path
  saved = tiny.get_config().to_dict()
  saved["model"]["z_dim"] = 3
  checkpoint.check_compatible(saved, tiny.get_config(), 400, "w")


# Each error class of bad input: (the call that meets it, what its line must say).
USER_ERRORS = {
    "missing data": (lambda tmp_path: _celeba(tmp_path, str(tmp_path / "nowhere")),
                     r"CelebA folder .*nowhere does not exist"),
    "data not configured": (lambda tmp_path: _celeba(tmp_path, ""),
                            r"config.data.manual_dir is empty: pass --config.data.manual_dir="),
    "malformed data": (_malformed_celeba, r"list_attr_celeba.txt line 4: value '0' is not 1 or -1"),
    "a photo for a model of vectors": (
        lambda tmp_path: switching.prepare_photo(np.zeros((32, 32, 3), np.uint8), _model((2,))),
        r"w holds a model of vectors \[2\], not of images: give the workdir of a model trained on "
        r"images"),
    "unknown attribute": (lambda tmp_path: switching.attribute_index(_model(), "Glasses"),
                          r"Unknown attribute 'Glasses'; this model knows Eyeglasses, Facial_Hair"),
    "incompatible checkpoint": (_incompatible_checkpoint,
                                r"different config: model.z_dim: checkpoint 3, config 2; Use the "
                                r"config it was trained with"),
    "unwritable workdir": (_unwritable_workdir, r"--workdir .* is not writable"),
    "diverged run": (  # pylint: disable-next=protected-access
        lambda tmp_path: trainer._check_finite({"loss": np.nan}, 200, 300, 200),
        r"Non-finite train/loss between steps 201 and 300; the run stopped and its last "
        r"checkpoint \(step 200\) is kept. Lower config.optim"),
    "missing checkpoint": (lambda tmp_path: trained_model.load(str(tmp_path)),
                           r"No checkpoint in .*; train first"),
    "unknown config field": (
        lambda tmp_path: console.override_config(tiny.get_config(), ["--eval.probe_max_trian=5"]),
        r"--config.eval.probe_max_trian: the checkpoint's config has no field .*valid: "
        r"eval.classifier_batch_size"),
    "config value of another type": (
        lambda tmp_path: console.override_config(tiny.get_config(), ["--eval.probe_max_train=x"]),
        r"--config.eval.probe_max_train=x: not a value of the field's type \(int, now 2000\)"),
}


def test_overrides_set_the_checkpoints_config_fields_by_their_types():
  given = tiny.get_config()
  config = console.override_config(given, [
      "--data.data_dir=/new/place", "--eval.probe_max_train=500", "--model.hidden=(8, 8)",
      "--loss.beta_h=1"])
  assert given.to_dict() == tiny.get_config().to_dict()  # a copy: the caller's is left as it was
  assert config.is_locked  # as --config gives it: a typo of a field raises
  assert config.data.data_dir == "/new/place" and config.eval.probe_max_train == 500
  assert config.model.hidden == (8, 8) and config.loss.beta_h == 1.0
  def others(c):
    return {k: v for k, v in c.to_dict().items() if k not in ("data", "eval", "model", "loss")}
  assert others(config) == others(tiny.get_config())


def test_without_a_config_file_config_fields_come_back_as_overrides_in_either_form():
  argv = ["eval.py", "--config.eval.probe_max_train", "500", "-config.data.data_dir=/new/place"]
  assert console.parse_flags_with_config_overrides(argv) == [
      "eval.py", "--eval.probe_max_train=500", "--data.data_dir=/new/place"]


@pytest.mark.parametrize("name", USER_ERRORS)
def test_bad_input_exits_2_with_one_line_naming_it(name, tmp_path, capsys):
  call, message = USER_ERRORS[name]
  main = console.exit_on_user_error(lambda argv: call(tmp_path))
  with pytest.raises(SystemExit) as exit_info:
    main(["program"])
  assert exit_info.value.code == 2
  error_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error")]
  assert len(error_lines) == 1
  assert error_lines[0].endswith("(--verbosity=1 shows the traceback)")
  assert re.search(message, error_lines[0]), error_lines[0]


def test_an_error_without_a_message_is_named_by_its_type():
  # A bucket read that timed out, say: an OSError, so bad input, but with nothing to print.
  assert console.one_line(TimeoutError()) == (
      "Error: TimeoutError (--verbosity=1 shows the traceback)")


def test_verbosity_1_keeps_the_traceback(monkeypatch):
  monkeypatch.setattr(flags.FLAGS["verbosity"], "value", 1)
  main = console.exit_on_user_error(
      lambda argv: switching.attribute_index(_model(), "Glasses"))
  with pytest.raises(ValueError, match="Unknown attribute 'Glasses'"):
    main(["program"])


@pytest.mark.parametrize("bug", [
    # A ValueError of a line of the package that is no `raise`: a sheet of images without channels.
    lambda: plots._sheet(np.zeros((2, 2, 8, 8))),  # pylint: disable=protected-access
    # One raised inside another library, from C and by a `raise` statement (json's decoder).
    lambda: np.zeros(3).reshape(2),
    lambda: json.loads("not json"),
    lambda: {}["key"],
])
def test_bugs_keep_their_traceback(bug):
  main = console.exit_on_user_error(lambda argv: bug())
  with pytest.raises((ValueError, KeyError)):
    main(["program"])


def _run(args, cwd, env=None):
  return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                        timeout=120, check=False, env=env)


def test_a_config_file_imports_its_siblings_from_any_folder(tmp_path):
  """As csvae-train runs it: from another folder, with the package importable but not the
  checkout, `--config /path/to/configs/tiny.py` (which does `from configs import base`) loads."""
  site = tmp_path / "site"
  site.mkdir()
  os.symlink(os.path.join(REPO, "csvae_jax"), site / "csvae_jax")
  script = ("import sys\n"
            "from absl import flags\n"
            "from ml_collections import config_flags\n"
            "from csvae_jax import console\n"
            "config_flags.DEFINE_config_file('config')\n"
            "def main(argv):\n"
            "  print(flags.FLAGS.config.train.num_steps)\n"
            f"sys.argv = ['csvae-train', '--config', {os.path.join(REPO, 'configs', 'tiny.py')!r},"
            " '--config.train.num_steps=7']\n"
            "console.run(main)\n")
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  result = _run(["-c", script], cwd=tmp_path, env=dict(env, PYTHONPATH=str(site)))
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout == "7\n"


@pytest.mark.parametrize("verbosity", [None, "0"])
def test_the_run_logs_its_own_lines_and_other_libraries_warnings(tmp_path, verbosity):
  """By default: INFO of the program, of this package and of clu (its metric tables), WARNING of
  other libraries but for the quiet ones; with --verbosity given, every library at that level. A
  package is known by the folder it is imported from: another library installed in a checkout
  named csvae_jax is not this package."""
  noisy = ("from absl import logging\n"
           "def say(package):\n"
           "  logging.info(f'info of {package}')\n"
           "  logging.warning(f'warning of {package}')\n"
           "  logging.warning('Given directory is read only: /x')\n")
  # Each module's log records carry the file its code was compiled from.
  files = {"csvae_jax": os.path.join(os.path.dirname(console.__file__), "noisy.py"),
           "clu": os.path.join(os.path.dirname(clu.__file__), "noisy.py"),
           "otherlib": str(tmp_path / "csvae_jax" / ".venv" / "lib" / "otherlib" / "noisy.py")}
  script = tmp_path / "program.py"
  script.write_text(
      "from absl import logging\n"
      "from csvae_jax import console\n"
      "def say(package):\n"
      "  namespace = {}\n"
      f"  exec(compile({noisy!r}, {files!r}[package], 'exec'), namespace)\n"
      "  namespace['say'](package)\n"
      "def main(argv):\n"
      "  console.setup()\n"
      "  logging.info('info of the program')\n"
      "  say('csvae_jax')\n"
      "  say('clu')\n"
      "  say('otherlib')\n"
      "console.run(main)\n")
  result = _run([str(script), *([f"--verbosity={verbosity}"] if verbosity else [])], cwd=REPO,
                env=dict(os.environ, PYTHONPATH=REPO))
  assert result.returncode == 0, result.stderr[-2000:]
  lines = [line.split("] ", 1)[1] for line in result.stderr.splitlines() if "] " in line]
  shown = {"info of the program", "info of csvae_jax", "warning of csvae_jax", "info of clu",
           "warning of clu", "warning of otherlib"}
  if verbosity:
    shown |= {"info of otherlib", "Given directory is read only: /x"}
  assert sorted(set(lines)) == sorted(shown)


@pytest.mark.parametrize("program, flag, doc", [
    ("train.py", "--workdir", "Trains a model of the paper on a dataset"),
    ("eval.py", "--split", "Evaluates the model in --workdir"),
    # As pip's console script runs it: from a shim of its own, without a docstring.
    ("csvae-train", "--workdir", "trains a model of the paper on a dataset")])
def test_help_shows_the_programs_doc_and_own_flags(program, flag, doc):
  if program.endswith(".py"):
    result = _run([program, "--help"], cwd=REPO)
  else:
    shim = (f"import sys; sys.argv[0] = {program!r}; from csvae_jax import train_cli; "
            "train_cli.run()")
    result = _run(["-c", shim, "--help"], cwd=REPO)
  assert result.returncode == 1, result.stderr[-2000:]  # absl's --help ends with code 1.
  usage, own = result.stdout.split(f"{program}:", 1)  # The flags listed under the program's name.
  assert f"  {flag}: " in own and "  --config: " in own
  assert doc in usage


@pytest.mark.parametrize("form", ["separate", "joined", "joined with an argument"])
def test_a_config_files_package_parent_goes_first_on_the_path(tmp_path, monkeypatch, form):
  (tmp_path / "configs").mkdir()
  (tmp_path / "configs" / "__init__.py").write_text("")
  path = str(tmp_path / "configs" / "mine.py")
  argv = {"separate": ["prog", "--config", path], "joined": ["prog", f"--config={path}"],
          "joined with an argument": ["prog", f"-config={path}:sizes/small"]}[form]
  monkeypatch.setattr(sys, "path", list(sys.path))
  console.add_config_package_to_path(argv)
  assert sys.path[0] == str(tmp_path)
  (tmp_path / "configs" / "__init__.py").unlink()  # Not a package: nothing to import from.
  console.add_config_package_to_path(argv)
  assert sys.path.count(str(tmp_path)) == 1


def test_a_missing_extra_is_named_but_a_missing_module_of_ours_is_a_bug(capsys):
  with pytest.raises(SystemExit) as exit_info:
    console.exit_needing_extra(ModuleNotFoundError("No module", name="tensorflow.io"), "prog")
  assert exit_info.value.code == 2
  assert capsys.readouterr().err == ("Error: prog needs tensorflow.io, which the core install "
                                     "leaves out: pip install 'csvae_jax[data]'\n")
  for name in ("csvae_jax.data.missing", None):
    with pytest.raises(ModuleNotFoundError):
      console.exit_needing_extra(ModuleNotFoundError("No module", name=name), "prog")


def test_a_choice_list_flag_refuses_an_unknown_item_when_parsed():
  values = flags.FlagValues()
  console.define_choice_list("kinds", ["vae", "csvae"], "Kinds.", default=["csvae"],
                             flag_values=values)
  values(["prog"])
  assert values.kinds == ["csvae"]
  values(["prog", "--kinds=vae,csvae"])
  assert values.kinds == ["vae", "csvae"]
  with pytest.raises(flags.IllegalFlagValueError, match="choose from vae, csvae"):
    values(["prog", "--kinds=vae,gan"])
