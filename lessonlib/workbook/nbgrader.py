"""The exercises as an nbgrader course: ``lessonlib exercises export --format nbgrader DIR``.

nbgrader (https://nbgrader.readthedocs.io) keeps a course in one folder: the instructor's notebooks
in ``source/<assignment>/``, what ``nbgrader generate_assignment`` makes of them in ``release/``, the
learners' work in ``submitted/<student>/<assignment>/``, the scores in ``gradebook.db``. The export
writes

- ``DIR/source/<assignment>/exNN_<name>.ipynb``, one notebook per exercise, all in one assignment
  (nbgrader grades an assignment notebook by notebook, so the gradebook keeps a score per exercise).
  The task is a read-only cell; the solution cell keeps the answer between ``### BEGIN SOLUTION`` /
  ``### END SOLUTION`` (nbgrader replaces it by ``raise NotImplementedError()`` in the release); the
  last cell is an autograded test cell: ``check("<id>", <function>)`` on the learner's cases and,
  between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (removed from the release, put back by
  ``nbgrader autograde``), the same check on cases drawn from a seed the learner never sees;
- ``DIR/nbgrader_config.py`` (``CourseDirectory.root`` = that folder, ``course_id``), unless DIR
  already has one, which is then kept as it is.

Nothing else in DIR is touched (an existing course keeps its gradebook and submissions); the
assignment folder is written atomically with a manifest, so it is replaced only with ``overwrite``
and only when lessonlib wrote it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import nbformat

from lessonlib.core.io import atomic_dir, atomic_write, check_replaceable
from lessonlib.workbook.exercises import BEGIN, END, ExerciseSource, parse, sources
from lessonlib.workbook.nbmeta import stamp_kernel

ASSIGNMENT = "neural_retrieval"
SCHEMA_VERSION = 3
CONFIG = "nbgrader_config.py"

_CONFIG_TEXT = '''"""nbgrader's configuration of the course `lessonlib exercises export --format nbgrader` wrote here."""

import os

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = {course_id!r}
# Not handed out: the manifest lessonlib keeps beside the exported notebooks.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".lessonlib-folder"]
'''

_TEST_CELL = '''# Autograded (nbgrader): full points when every case of the check passes.
import warnings

from lessonlib.workbook.checks import check

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # nbgrader scores a test cell that writes to stderr 0
    result = check("{exercise}", {function}, verbose=True)
    ### BEGIN HIDDEN TESTS
    hidden = check("{exercise}", {function}, seed={seed}, verbose=False)
    ### END HIDDEN TESTS
assert result.ok, f"{{result.passed}}/{{result.total}} cases pass"
### BEGIN HIDDEN TESTS
assert hidden.ok, f"on other random cases {{hidden.passed}}/{{hidden.total}} pass: {{hidden.failures[:1]}}"
### END HIDDEN TESTS'''


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION, "solution": solution}
    if points is not None:
        meta["points"] = points
    return meta


def _nbgrader_markers(code: str) -> str:
    """``# BEGIN SOLUTION`` -> ``### BEGIN SOLUTION`` (and END), at the same indentation."""
    out = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped in (BEGIN, END):
            line = line[: len(line) - len(line.lstrip())] + "##" + stripped
        out.append(line)
    return "\n".join(out)


def _is_check_cell(code: str) -> bool:
    return BEGIN not in code and "check(" in code


def to_nbgrader(src: ExerciseSource, points: int = 1, seed: int = 1) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one exercise (solution regions in nbgrader's markers)."""
    nb = nbformat.v4.new_notebook()
    stamp_kernel(nb)
    nb.metadata["lessonlib"] = {"exercise": src.exercise, "function": src.function, "practises": src.practises,
                                "version": "nbgrader"}
    cells = list(src.cells)
    if cells and cells[-1][0] == "code" and _is_check_cell(cells[-1][1]):
        cells.pop()  # the learner's check cell becomes the autograded test cell below
    n_solutions = 0
    for i, (kind, text) in enumerate(cells):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
            cell.metadata["nbgrader"] = _meta(f"{src.exercise}_task_{i}", locked=True)
        elif BEGIN in text:
            n_solutions += 1
            cell = nbformat.v4.new_code_cell(_nbgrader_markers(text))
            suffix = "" if n_solutions == 1 else f"_{n_solutions}"
            cell.metadata["nbgrader"] = _meta(f"{src.exercise}_solution{suffix}", solution=True)
        else:
            cell = nbformat.v4.new_code_cell(text)
        nb.cells.append(cell)
    test = nbformat.v4.new_code_cell(_TEST_CELL.format(exercise=src.exercise, function=src.function, seed=seed))
    test.metadata["nbgrader"] = _meta(f"{src.exercise}_check", grade=True, locked=True, points=points)
    nb.cells.append(test)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{src.name[:40]}-{i}"
    nbformat.validate(nb)
    return nb


def export_nbgrader(source_dir: str | Path | list[Path], out_dir: str | Path, assignment: str = ASSIGNMENT,
                    points: int = 1, seed: int | None = None, overwrite: bool = False,
                    course_id: str | None = None) -> list[Path]:
    """Write ``out_dir/source/<assignment>/<name>.ipynb`` for every source (a folder or a list of files) and,
    if absent, ``out_dir/nbgrader_config.py``; returns the notebooks' final paths."""
    if not assignment or not all(ch.isalnum() or ch in "_-" for ch in assignment):
        raise ValueError(f"--assignment {assignment!r}: use letters, digits, '_' and '-' only (nbgrader's ids)")
    if points < 1:
        raise ValueError(f"--points {points}: must be >= 1")
    paths = list(source_dir) if isinstance(source_dir, list) else sources(source_dir)
    parsed = [parse(path) for path in paths]  # a bad source fails here, before anything is written
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} is a file, not a folder")
    target = out_dir / "source" / assignment
    check_replaceable(target, overwrite=overwrite)
    seed = secrets.randbelow(2**31) if seed is None else seed
    with atomic_dir(target) as tmp:
        for src in parsed:
            with atomic_write(tmp / f"{src.name}.ipynb") as handle:
                nbformat.write(to_nbgrader(src, points=points, seed=seed), handle)
    config = out_dir / CONFIG
    if not config.exists():
        with atomic_write(config) as handle:
            handle.write(_CONFIG_TEXT.format(course_id=course_id or assignment))
    return [target / f"{src.name}.ipynb" for src in parsed]
