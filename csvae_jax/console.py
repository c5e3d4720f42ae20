"""Console output and flags of the command-line programs: the run's own lines, library internals
quieter, bad input as one line, and a checkpoint's config overridden without a config file.

By default the programs log this library's lines (config, data, progress, metrics, checkpoints)
and clu's metric and parameter tables at INFO, and every other library (orbax, JAX, TensorFlow)
at WARNING. `--verbosity=0` shows every library's INFO lines, `--verbosity=1` their DEBUG lines
(absl's own flag).

`run(main)` is `absl.app.run(main)` where an error of the user's input ends the program with one
line on stderr and exit code 2 (the traceback too with `--verbosity=1`). Such errors are those
this package raises on purpose, whose messages name the value seen and the fix: a ValueError or
FloatingPointError of a `raise` statement of the package (a missing field, malformed data, an
unknown attribute, an incompatible checkpoint, a diverged run), and any OSError (a missing or
unwritable file or folder). Other errors, ours or other libraries', are bugs: they keep their
traceback.

`define_choice_list` defines a list flag (`--kinds=csvae,vae`) whose items are checked against
their choices when the flags are parsed. `parse_flags_with_config_overrides` lets a program whose
`--config` file is optional (eval) take `--config.<group>.<field>=<value>` without one, for
`override_config` to apply to a checkpoint's.
"""

import ast
import functools
import importlib.util
import linecache
import logging as std_logging
import os
import re
import sys
from typing import Any, Callable, Optional, Sequence

from absl import app
from absl import flags
from absl import logging
import ml_collections

USAGE_ERROR_EXIT_CODE = 2
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_RUN_PACKAGES = ("csvae_jax", "clu")
# Warnings that say nothing to a user: orbax's on every model loaded (read-only, as intended).
_QUIET_WARNINGS = ("Given directory is read only",)


def _package_dirs(packages: Sequence[str]) -> tuple[str, ...]:
  """The folders `packages` are imported from (found, not imported), each ending in os.sep."""
  specs = [importlib.util.find_spec(package) for package in packages]
  return tuple(os.path.abspath(folder) + os.sep for spec in specs if spec is not None
               for folder in spec.submodule_search_locations or ())


class _RunLines(std_logging.Filter):
  """Passes warnings and errors, and INFO lines of the running program and of _RUN_PACKAGES (by
  the folder each is imported from: a checkout named csvae_jax holding a .venv stays quiet)."""

  def __init__(self, main_file: str):
    super().__init__()
    self._main_file = main_file
    self._run_dirs = _package_dirs(_RUN_PACKAGES)

  def filter(self, record: std_logging.LogRecord) -> bool:
    path = record.pathname
    if record.levelno == std_logging.WARNING and str(record.msg).startswith(_QUIET_WARNINGS):
      return False
    return (record.levelno >= std_logging.WARNING or path == self._main_file
            or path.startswith(self._run_dirs))


def setup() -> None:
  """Configures absl logging as the module doc says; call once, in `main`."""
  if flags.FLAGS["verbosity"].present:  # given on the command line: every library at that level
    return
  logging.set_verbosity(logging.INFO)
  main_file = getattr(sys.modules["__main__"], "__file__", "") or ""
  # ABSLHandler hands records to its python handler without applying its own filters.
  logging.get_absl_handler().python_handler.addFilter(_RunLines(os.path.abspath(main_file)))


def is_user_error(error: BaseException) -> bool:
  """Whether `error` is bad input (see the module doc) rather than a bug."""
  if isinstance(error, OSError):
    return True
  if not isinstance(error, (ValueError, FloatingPointError)):
    return False
  traceback = error.__traceback__
  while traceback is not None and traceback.tb_next is not None:
    traceback = traceback.tb_next
  if traceback is None:
    return False
  filename = traceback.tb_frame.f_code.co_filename
  return (filename.startswith(_PACKAGE_DIR + os.sep)
          and linecache.getline(filename, traceback.tb_lineno).lstrip().startswith("raise "))


def one_line(error: BaseException) -> str:
  """The message of `error` on one line, for stderr."""
  message = ""
  for line in (" ".join(line.split()) for line in str(error).splitlines()):
    if line:
      message += ("" if not message else " " if message.endswith((".", ":", ";", ",")) else "; ")
      message += line
  return f"Error: {message or type(error).__name__} (--verbosity=1 shows the traceback)"


def exit_on_user_error(main: Callable[[list[str]], Any]) -> Callable[[list[str]], Any]:
  """`main` whose user errors (`is_user_error`) exit with code 2 and `one_line` on stderr."""
  @functools.wraps(main)
  def wrapped(argv: list[str]) -> Any:
    try:
      return main(argv)
    except Exception as error:  # pylint: disable=broad-exception-caught
      if not is_user_error(error) or flags.FLAGS["verbosity"].value >= 1:
        raise
      print(one_line(error), file=sys.stderr)
      sys.exit(USAGE_ERROR_EXIT_CODE)
  return wrapped


def exit_needing_extra(error: ModuleNotFoundError, program: str) -> None:
  """Ends `program`, whose imports failed on `error`, naming the install that brings what it
  needs (the core install leaves out TensorFlow and the rest of the [data] extra)."""
  if error.name is None or error.name.split(".")[0] == "csvae_jax":
    raise error
  print(f"Error: {program} needs {error.name}, which the core install leaves out: "
        "pip install 'csvae_jax[data]'", file=sys.stderr)
  sys.exit(USAGE_ERROR_EXIT_CODE)


def add_config_package_to_path(argv: Sequence[str]) -> None:
  """Lets a config file given as `--config DIR/configs/x.py` import its siblings (`from configs
  import base`) from any working directory: puts DIR, the folder above the config's package, first
  on sys.path. Call before the flags are parsed (they load the file)."""
  for i, arg in enumerate(argv):
    if arg in ("--config", "-config") and i + 1 < len(argv):
      path = argv[i + 1]
    elif arg.startswith(("--config=", "-config=")):
      path = arg.split("=", 1)[1]
    else:
      continue
    package = os.path.dirname(os.path.abspath(path.split(":", 1)[0]))  # file.py:arg is allowed
    if os.path.exists(os.path.join(package, "__init__.py")):
      sys.path.insert(0, os.path.dirname(package))


def run(main: Callable[[list[str]], Any],
        flags_parser: Optional[Callable[[list[str]], Any]] = None) -> None:
  """`absl.app.run(main)` for a program with a `--config` file, user errors as one line.

  Run from a shim (train.py) or a console script (csvae-train), `--help` still shows the flags and
  docstring of `main`'s module.
  """
  module = sys.modules[main.__module__]
  for flag in flags.FLAGS.get_key_flags_for_module(module.__name__):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  main_module = sys.modules["__main__"]
  if not main_module.__doc__:
    main_module.__doc__ = module.__doc__
  add_config_package_to_path(sys.argv)
  app.run(exit_on_user_error(main), **({"flags_parser": flags_parser} if flags_parser else {}))


def define_choice_list(name: str, choices: Sequence[str], help: str,
                       default: Optional[Sequence[str]] = None,
                       flag_values: flags.FlagValues = flags.FLAGS) -> None:
  """A comma-separated list flag each of whose items must be one of `choices` (by default all of
  them): a misspelt one stops the program when its flags are parsed, before any work, naming the
  choices."""
  flags.DEFINE_list(name, list(choices if default is None else default), help,
                    flag_values=flag_values)
  flags.register_validator(name, lambda names: set(names) <= set(choices),
                           f"choose from {', '.join(choices)}.", flag_values=flag_values)


_CONFIG_FILE = re.compile(r"^--?config(=|$)")
_CONFIG_FIELD = re.compile(r"^--?config\.")


def parse_flags_with_config_overrides(argv: list[str]) -> list[str]:
  """absl's flag parsing (an `app.run` flags_parser), except that without a --config file the
  `--config.<group>.<field>=<value>` arguments (or `--config.<group>.<field> <value>`) are not
  flags: they come back after the positional arguments as `--<group>.<field>=<value>`."""
  if any(_CONFIG_FILE.match(arg) for arg in argv[1:]):
    return app.parse_flags_with_usage(argv)
  rest, overrides, i = argv[:1], [], 1
  while i < len(argv):
    if _CONFIG_FIELD.match(argv[i]):
      field = argv[i].lstrip("-")[len("config."):]
      if "=" not in field and i + 1 < len(argv):
        field, i = f"{field}={argv[i + 1]}", i + 1
      overrides.append(f"--{field}")
    else:
      rest.append(argv[i])
    i += 1
  return app.parse_flags_with_usage(rest) + overrides


def _field_names(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  return [name for key, value in config.items()
          for name in (_field_names(value, f"{prefix}{key}.")
                       if isinstance(value, ml_collections.ConfigDict) else [prefix + key])]


def override_config(config: ml_collections.ConfigDict,
                    overrides: Sequence[str]) -> ml_collections.ConfigDict:
  """A copy of `config` with each `--<group>.<field>=<value>` set: strings as given, other values
  as Python literals of the field's type (`--eval.probe_max_train=500`, `--model.hidden=(8,8)`).

  Raises:
    ValueError: for an unknown field (listing its group's fields) or a value of another type.
  """
  config = ml_collections.ConfigDict(config.to_dict())
  config.lock()
  for item in overrides:
    key, _, text = item.lstrip("-").partition("=")
    try:
      current = config
      for part in key.split("."):
        current = current[part]
      config.update_from_flattened_dict(
          {key: text if isinstance(current, str) else ast.literal_eval(text)})
    except (KeyError, AttributeError):
      fields = _field_names(config)
      group = [name for name in fields if name.split(".")[0] == key.split(".")[0]]
      raise ValueError(f"--config.{key}: the checkpoint's config has no field {key}; valid: "
                       f"{', '.join(sorted(group or fields))}.") from None
    except (ValueError, SyntaxError, TypeError):
      raise ValueError(f"--config.{key}={text}: not a value of the field's type "
                       f"({type(current).__name__}, now {current!r}).") from None
  return config
