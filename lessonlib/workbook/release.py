"""The learner's copy of the course: what an instructor publishes, without a single solution.

The instructor keeps this repository (the exercise sources with their solutions, the tests, bench/)
and hands out the folder :func:`write_release` writes, as nbgrader splits ``source/`` and ``release/``:

- ``notebooks/*.ipynb`` as they are here,
- ``exercises/student/*.ipynb`` (checked first against ``exercises/source``: none missing or stale),
- ``data/`` (the bundled sample), ``bench/results/`` (the measurements the prose cites), ``lessonlib/`` and ``pyproject.toml`` (so ``pip install -e .`` and
  ``make install`` work there), the ``Makefile`` less its maintainer blocks (:func:`without_maintainer_part`:
  the test targets, which need ``tests/``), ``.gitignore``, a ``LICENSE`` if there is one,
- ``README.md`` and ``exercises/README.md``: only their learner sections, the text between
  ``<!-- learner:start -->`` and ``<!-- learner:end -->`` (several sections are joined in order).

Left out: ``exercises/source`` and ``exercises/instructor`` (solutions), ``tests/`` (they read the
solutions), ``bench/``'s scripts, ``CONTRIBUTING.md``, the CI. Before anything is written, every file of the
release is searched for the lines of every solution region (:func:`check_no_solutions`): one line
outside ``lessonlib/``, or a good part of one region in a package file, is an error. The folder is written atomically with a manifest (:func:`lessonlib.core.io.atomic_dir`), so a
later release replaces it only with ``overwrite`` and never replaces a folder of someone else's files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from lessonlib.core.io import atomic_dir, check_replaceable
from lessonlib.workbook import exercises

LEARNER_START, LEARNER_END = "<!-- learner:start -->", "<!-- learner:end -->"
# Makefile lines between these two (each a line of its own) are the maintainer's: the test targets need tests/,
# which the release does not ship, so the learner's Makefile leaves them out.
MAINTAINER_START, MAINTAINER_END = "# maintainer:start", "# maintainer:end"

# Copied as they are, when present; README.md is written from its learner sections.
TOP_FILES = ("pyproject.toml", ".gitignore")
LICENSES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING")
# copied whole, less caches and hidden files; bench/results holds the measurements the README cites
TREES = ("lessonlib", "data", "bench/results")
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints"}


def _blocks(text: str, start: str, end: str, name: str, what: str) -> tuple[list[list[str]], list[str]]:
    """(the blocks between ``start`` and ``end`` marker lines, the lines outside them) of ``text``; markers are
    lines of their own and do not nest (a one-line ValueError naming ``name`` and the line otherwise)."""
    blocks: list[list[str]] = []
    outside: list[str] = []
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        marker = line.strip()
        if marker == start:
            if inside:
                raise ValueError(f"{name}:{number}: '{start}' inside another {what}")
            inside = True
            blocks.append([])
        elif marker == end:
            if not inside:
                raise ValueError(f"{name}:{number}: '{end}' without a '{start}' before it")
            inside = False
        else:
            (blocks[-1] if inside else outside).append(line)
    if inside:
        raise ValueError(f"{name}: '{start}' without a '{end}' after it")
    return blocks, outside


def learner_part(text: str, name: str = "README.md") -> str:
    """The learner sections of a README: the lines between a ``<!-- learner:start -->`` line and the next
    ``<!-- learner:end -->`` line (markers on lines of their own), sections joined by a blank line."""
    parts, _ = _blocks(text, LEARNER_START, LEARNER_END, name, "learner section")
    if not parts:
        raise ValueError(f"{name}: no learner section (lines {LEARNER_START} ... {LEARNER_END})")
    return "\n\n".join("\n".join(lines).strip("\n") for lines in parts) + "\n"


def without_maintainer_part(text: str, name: str = "Makefile") -> str:
    """``text`` less its maintainer blocks: the lines from a ``# maintainer:start`` line to the next
    ``# maintainer:end`` line, markers included (markers on lines of their own)."""
    _, kept = _blocks(text, MAINTAINER_START, MAINTAINER_END, name, "maintainer block")
    return "\n".join(kept) + "\n"


def _kept(path: Path, top: Path) -> bool:
    parts = path.relative_to(top).parts
    return not any(p.startswith(".") or p in SKIPPED_NAMES or p.endswith(SKIPPED_SUFFIXES) for p in parts)


def _tree(top: Path) -> list[Path]:
    return sorted(p for p in top.rglob("*") if p.is_file() and _kept(p, top))


COURSE_PARTS = ("pyproject.toml", "lessonlib", "notebooks", "exercises/student")
"""What makes a folder the course: the instructor's repository or a learner's release."""


def is_course(folder: Path) -> bool:
    """Whether ``folder`` holds every one of :data:`COURSE_PARTS`."""
    return all((folder / n).exists() for n in COURSE_PARTS)


def course_root(explicit: Path | None = None) -> Path:
    """The instructor's repository: ``explicit``, else the checkout this ``lessonlib`` was imported from."""
    root = Path(explicit) if explicit else Path(__file__).resolve().parents[2]
    missing = [n for n in COURSE_PARTS if not (root / n).exists()]
    if missing:
        raise FileNotFoundError(f"{root} is not the course repository (no {', '.join(missing)}); pass --root "
                                "the instructor's clone")
    return root.resolve()


def student_notebooks(root: Path) -> list[Path]:
    """exercises/student/*.ipynb, each checked against its source when the sources are here."""
    import nbformat

    folder = root / "exercises" / "student"
    notebooks = sorted(folder.glob("*.ipynb"))
    source_dir = root / "exercises" / "source"
    if source_dir.is_dir() and any(source_dir.glob("ex*.py")):
        names = {p.stem for p in notebooks}
        for path in exercises.sources(source_dir):
            target = folder / f"{path.stem}.ipynb"
            fresh = json.loads(nbformat.writes(exercises.to_notebook(exercises.parse(path), student=True)))
            if path.stem not in names or json.loads(target.read_text(encoding="utf-8")) != fresh:
                state = "missing" if path.stem not in names else "out of date"
                raise ValueError(f"{target} is {state} (its source is {path}); run `lessonlib exercises build "
                                 "--only student` first")
        orphans = names - {p.stem for p in exercises.sources(source_dir)}
        if orphans:
            raise ValueError(f"{folder / (sorted(orphans)[0] + '.ipynb')} has no source in {source_dir}; "
                             "delete it or add its source")
    if not notebooks:
        raise FileNotFoundError(f"no student exercises in {folder}")
    return notebooks


def plan(root: Path) -> dict[str, Path | str]:
    """What the release holds: ``{relative path: file to copy | text to write}``."""
    files: dict[str, Path | str] = {}
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {root / 'notebooks'}")
    for path in notebooks + student_notebooks(root):
        files[path.relative_to(root).as_posix()] = path
    for tree in TREES:
        if (root / tree).is_dir():
            for path in _tree(root / tree):
                files[path.relative_to(root).as_posix()] = path
    for name in TOP_FILES + LICENSES:
        if (root / name).is_file():
            files[name] = root / name
    if (root / "Makefile").is_file():
        files["Makefile"] = without_maintainer_part((root / "Makefile").read_text(encoding="utf-8"))
    files["README.md"] = learner_part((root / "README.md").read_text(encoding="utf-8"), "README.md")
    if (root / "exercises" / "README.md").is_file():
        files["exercises/README.md"] = learner_part(
            (root / "exercises" / "README.md").read_text(encoding="utf-8"), "exercises/README.md")
    return files


_RETURN_NAMES = re.compile(r"^return\s+[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*$")  # return fused / return scores, ids
PACKAGE_LINES = 4  # a package file holding this many lines of one solution region (or half of it) gives it away


def solution_regions(source_dir: Path, min_length: int = 12) -> list[tuple[str, list[str]]]:
    """``[(source name, lines)]`` per solution region: its stripped lines, less trivial ones (shorter than
    ``min_length``, ``return`` of bare names)."""
    regions: list[tuple[str, list[str]]] = []
    if not (source_dir.is_dir() and any(source_dir.glob("ex*.py"))):
        return regions
    for path in exercises.sources(source_dir):
        current: list[str] | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped == exercises.BEGIN:
                current = []
            elif stripped == exercises.END and current is not None:
                regions.append((path.name, current))
                current = None
            elif current is not None and len(stripped) >= min_length and not _RETURN_NAMES.match(stripped):
                current.append(stripped)
    return regions


def check_no_solutions(files: dict[str, Path | str], source_dir: Path) -> None:
    """Raise naming the first release file that gives a solution away.

    Outside ``lessonlib/`` a single line of a solution region is one too many. The package is the
    reference the checks compare with (the exercises invite learners to read it once they pass), so it
    shares idioms with the solutions; a package file that holds :data:`PACKAGE_LINES` lines of one
    region, or half of them, holds the answer itself."""
    regions = solution_regions(source_dir)
    for name, content in files.items():
        text = content if isinstance(content, str) else content.read_bytes().decode("utf-8", errors="replace")
        for source, lines in regions:
            found = [line for line in lines if line in text]
            if not found:
                continue
            if not name.startswith("lessonlib/"):
                raise ValueError(f"refusing to release {name}: it holds a line of the solution in {source} ({found[0][:60]!r})")
            if len(found) >= PACKAGE_LINES or (len(found) >= 2 and 2 * len(found) >= len(lines)):
                raise ValueError(f"refusing to release {name}: it holds {len(found)} of the {len(lines)} lines of the "
                                 f"solution in {source} (e.g. {found[0][:60]!r}); the package may share idioms "
                                 "with a solution, not the solution")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def write_release(out: Path, root: Path | None = None, overwrite: bool = False) -> dict[str, Path | str]:
    """Write the learner's copy of ``root`` (default: this checkout) to ``out``; returns what it holds."""
    root = course_root(root)
    out = Path(out).absolute()
    if _inside(root, out.resolve()):
        raise ValueError(f"{out} holds the course repository {root}; choose a folder outside it")
    for tree in (*TREES, "notebooks", "exercises"):
        if _inside(out.resolve(), root / tree):
            raise ValueError(f"{out} is inside {root / tree}, which the release copies; choose a folder outside it")
    check_replaceable(out, overwrite=overwrite)
    files = plan(root)
    check_no_solutions(files, root / "exercises" / "source")
    with atomic_dir(out) as tmp:
        for name, content in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                shutil.copy2(content, target)
    return files
