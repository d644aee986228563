"""Exercise sources and the student / instructor notebooks generated from them.

One source per exercise, ``exercises/source/<name>.py``, in the "percent" notebook format
(``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell) with a header::

    # exercise: reciprocal_rank_fusion
    # function: reciprocal_rank_fusion
    # practises: 22_hybrid_systems — fusing a sparse and a dense run

Solution regions are marked as in nbgrader::

    # BEGIN SOLUTION
    ...the reference answer...
    # END SOLUTION

:func:`build_notebooks` writes the **student** version (each region replaced by
``raise NotImplementedError(...)`` at the region's indentation) and the **instructor** version
(markers removed, solution kept). Both come from the one source, so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lessonlib.core.io import atomic_write
from lessonlib.workbook.nbmeta import stamp_kernel

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_HEADER = re.compile(r"^#\s*(exercise|function|practises|title):\s*(.+?)\s*$")


@dataclass
class ExerciseSource:
    name: str  # file stem, e.g. "ex15_reciprocal_rank_fusion"
    exercise: str  # check id
    function: str  # the function the learner writes
    practises: str
    title: str
    cells: list[tuple[str, str]]  # (kind, source) with kind "code" | "markdown"


def parse(path: str | Path) -> ExerciseSource:
    """Read a percent-format exercise source; raise ValueError naming the file on bad input."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
            continue
        if not cells:
            match = _HEADER.match(line)
            if match:
                header[match.group(1)] = match.group(2)
            continue
        kind, lines = cells[-1]
        if kind == "markdown":
            line = line[2:] if line.startswith("# ") else line.lstrip("#")
        lines.append(line)
    missing = {"exercise", "function", "practises"} - set(header)
    if missing:
        raise ValueError(f"{path}: header lacks {', '.join(sorted(missing))} (lines like '# exercise: <id>')")
    joined = [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]
    if not any(BEGIN in src for kind, src in joined if kind == "code"):
        raise ValueError(f"{path}: no '{BEGIN}' region: an exercise needs a solution to remove")
    for kind, src in joined:
        if src.count(BEGIN) != src.count(END):
            raise ValueError(f"{path}: unbalanced {BEGIN} / {END} markers")
    return ExerciseSource(path.stem, header["exercise"], header["function"], header["practises"],
                          header.get("title", header["exercise"].replace("_", " ")), joined)


def strip_solutions(code: str, exercise: str) -> str:
    """Replace every solution region by a NotImplementedError stub at the same indentation."""
    out: list[str] = []
    inside = False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("exercise {exercise}: write your solution here")')
            continue
        if stripped == END:
            inside = False
            continue
        if not inside:
            out.append(line)
    return "\n".join(out)


def remove_markers(code: str) -> str:
    return "\n".join(line for line in code.splitlines() if line.strip() not in (BEGIN, END))


def to_notebook(src: ExerciseSource, student: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    stamp_kernel(nb)
    nb.metadata["lessonlib"] = {"exercise": src.exercise, "function": src.function,
                                "practises": src.practises, "version": "student" if student else "instructor"}
    for kind, text in src.cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            code = strip_solutions(text, src.exercise) if student else remove_markers(text)
            nb.cells.append(nbformat.v4.new_code_cell(code))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{src.name[:40]}-{i}"
    return nb


def sources(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    paths = sorted(folder.glob("ex*.py"))
    if not paths:
        raise FileNotFoundError(f"no exercise sources (ex*.py) in {folder}")
    return paths


def build_notebooks(source_dir: str | Path, out_dir: str | Path, versions: tuple[str, ...] = ("student", "instructor")) -> list[Path]:
    """Write ``out_dir/<version>/<name>.ipynb`` for every source; returns the written paths."""
    written = []
    for path in sources(source_dir):
        src = parse(path)
        for version in versions:
            target = Path(out_dir) / version / f"{src.name}.ipynb"
            with atomic_write(target) as handle:
                nbformat.write(to_notebook(src, student=version == "student"), handle)
            written.append(target)
    return written
