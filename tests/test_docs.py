"""Every repository path and document anchor cited in the code, configs and docs exists.

One citation style everywhere: a path from the repository root (`docs/design.md`), with `#anchor`
for a section of a Markdown file (`docs/design.md#batches`), the anchor as GitHub derives it from
the heading. Markdown links (`[text](target)`) are resolved from the file that holds them.
Placeholders (`configs/<name>.py`, `table{1,2}.json`, `docs/*.md`) are not checked, nor is this
file, whose own examples are broken on purpose.
"""

import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parent.parent

SCANNED = ("README.md", "train.py", "eval.py", "pyproject.toml", "csvae_jax", "configs", "bench",
           "scripts", "tests", "docs")
SUFFIXES = (".py", ".md", ".toml")
SKIPPED_DIRS = {"__pycache__", ".venv", "runs", ".git"}

_CHARS = r"[\w./\-{}<>*]"
# A path from the repository root: a top-level folder and what follows it, or a top-level file.
PATH = re.compile(r"(?<![\w./\-{}<>*])((?:csvae_jax|configs|bench|scripts|tests|docs)/" + _CHARS +
                  r"*|(?:README\.md|train\.py|eval\.py|pyproject\.toml)(?![\w.]))(#[\w\-]+)?")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PLACEHOLDER = re.compile(r"[{}<>*]")
# The other citation styles: README, "Section"; README: section; file.md, section 3; file.md 1:.
OTHER_STYLE = re.compile(r"README(?:\.md)?(?:, \"|: [a-z]| section\b|'s \")|\.md,? section\b|"
                         r"\.md \d+:")
HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")


def _files(root: pathlib.Path) -> list[pathlib.Path]:
  files = []
  for name in SCANNED:
    path = root / name
    if path.is_file():
      files.append(path)
    elif path.is_dir():
      files.extend(p for p in sorted(path.rglob("*"))
                   if p.suffix in SUFFIXES and p.is_file() and p.name != "test_docs.py"
                   and not SKIPPED_DIRS.intersection(p.relative_to(root).parts))
  return files


def _outside_fences(text: str) -> list[str]:
  lines, in_fence = [], False
  for line in text.splitlines():
    if line.lstrip().startswith("```"):
      in_fence = not in_fence
    elif not in_fence:
      lines.append(line)
  return lines


def anchors(markdown: pathlib.Path) -> set[str]:
  """The anchors GitHub gives the headings of a Markdown file (repeats get -1, -2, ...)."""
  found, seen = set(), {}
  for line in _outside_fences(markdown.read_text(encoding="utf-8")):
    match = HEADING.match(line)
    if match:
      slug = re.sub(r"[^\w\- ]", "", match.group(2).strip().lower()).replace(" ", "-")
      count = seen.get(slug, 0)
      seen[slug] = count + 1
      found.add(slug if count == 0 else f"{slug}-{count}")
  return found


def _check(root: pathlib.Path, target: pathlib.Path, anchor: str, where: str,
           cache: dict[pathlib.Path, set[str]]) -> list[str]:
  target = target.resolve()
  if root.resolve() not in (target, *target.parents):
    return [f"{where}: {target} is outside the repository"]
  if not target.exists():
    return [f"{where}: {target.relative_to(root.resolve())} does not exist"]
  if not anchor:
    return []
  markdown = target / "README.md" if target.is_dir() else target
  if markdown.suffix != ".md" or not markdown.exists():
    return [f"{where}: #{anchor} cites a section of {markdown.name}, which is not Markdown"]
  if markdown not in cache:
    cache[markdown] = anchors(markdown)
  if anchor not in cache[markdown]:
    return [f"{where}: no heading of {markdown.relative_to(root.resolve())} has the anchor "
            f"#{anchor} (it has {', '.join(sorted(cache[markdown]))})"]
  return []


def broken_citations(root: pathlib.Path) -> list[str]:
  """Every cited path or anchor under `root` that does not exist, as 'file:line: problem'."""
  problems, cache = [], {}
  for path in _files(root):
    relative = path.relative_to(root)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
      where = f"{relative}:{number}"
      for match in PATH.finditer(line):
        cited = match.group(1).rstrip(".")
        if not PLACEHOLDER.search(cited):
          problems += _check(root, root / cited, (match.group(2) or "#")[1:], where, cache)
      if path.suffix == ".md":
        for match in LINK.finditer(line):
          target = match.group(1)
          if re.match(r"[a-z]+:", target) or PLACEHOLDER.search(target):
            continue
          file_part, _, anchor = target.partition("#")
          problems += _check(root, path.parent / file_part if file_part else path, anchor, where,
                             cache)
      if OTHER_STYLE.search(line):
        problems.append(f"{where}: cite as path#anchor, not by a section's name or number: "
                        f"{line.strip()}")
  return list(dict.fromkeys(problems))  # A link whose text is its target is one problem.


def test_every_cited_path_and_anchor_exists():
  assert broken_citations(REPO) == []


def test_the_check_finds_broken_paths_anchors_and_other_citation_styles(tmp_path):
  (tmp_path / "docs").mkdir()
  (tmp_path / "csvae_jax").mkdir()
  (tmp_path / "docs" / "design.md").write_text(
      "# Design\n\n## W's posterior (images)\n\n```\n## not a heading\n```\n\n"
      "[ok](design.md#ws-posterior-images) [same file](#design) [gone](results.md)\n"
      "[bad anchor](#not-a-heading) ![figure](figures/missing.png) [web](https://example.com)\n")
  (tmp_path / "README.md").write_text(
      "See `docs/design.md#design`, `docs/design.md#batches`, `configs/<name>.py`, "
      "`docs/table{1,2}.json`.\n")
  (tmp_path / "csvae_jax" / "model.py").write_text(
      '"""Cites docs/design.md#ws-posterior-images and docs/missing.md."""\n'
      '# (README, "The step"); docs/design.md, section 3; README.md: getting CelebA\n')

  problems = broken_citations(tmp_path)

  assert len(problems) == 6, problems
  assert any(p.startswith("README.md:1:") and "#batches" in p for p in problems)
  assert any(p.startswith("csvae_jax/model.py:1:") and "docs/missing.md does not" in p
             for p in problems)
  assert any(p.startswith("csvae_jax/model.py:2:") and "not by a section's name" in p
             for p in problems)
  assert any(p.startswith("docs/design.md:9:") and "docs/results.md does not" in p
             for p in problems)
  assert any(p.startswith("docs/design.md:10:") and "#not-a-heading" in p for p in problems)
  assert any(p.startswith("docs/design.md:10:") and "figures/missing.png" in p for p in problems)


def test_anchors_follow_github(tmp_path):
  assert {"priors-on-w", "ws-posterior-around-its-prior", "batches"} <= anchors(
      REPO / "docs" / "design.md")
  probe = tmp_path / "probe.md"
  probe.write_text("# A b\n## bench/device.py on a CPU\n### W's posterior (images)\n## A b\n")
  assert anchors(probe) == {"a-b", "benchdevicepy-on-a-cpu", "ws-posterior-images", "a-b-1"}
