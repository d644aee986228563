"""The last cell of every lesson notebook: the exercises that practise it and the next notebook.

Each exercise source names the notebook it practises (``# practises: 05_ann_indexing — ...``), so the
links are generated from the sources, never typed: :func:`refresh` rewrites the final "Where next"
cell of each notebook (the Markdown cell whose metadata says ``{"lessonlib": {"generated":
"where-next"}}``), ``lessonlib exercises links`` runs it, and ``tests/test_links.py`` fails when a
committed notebook's cell differs from what the sources generate. Links are relative
(``../exercises/student/exNN_*.ipynb``), so they work in the repository, in a release and in the
working copy ``lessonlib lab`` makes.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

from lessonlib.core.io import atomic_write
from lessonlib.workbook.exercises import ExerciseSource, parse, sources
from lessonlib.workbook.html import notebook_title

MARK = "where-next"


def exercises_by_notebook(source_dir: str | os.PathLike) -> dict[str, list[ExerciseSource]]:
    """Notebook stem -> the exercises whose ``practises`` header starts with it, in exercise order."""
    found: dict[str, list[ExerciseSource]] = {}
    for path in sources(source_dir):
        src = parse(path)
        found.setdefault(src.practises.split()[0], []).append(src)
    return found


def where_next(notebook: Path, titles: dict[Path, str], practised: dict[str, list[ExerciseSource]]) -> str:
    """The Markdown of ``notebook``'s last cell: its exercises and the next notebook of ``titles``
    (every notebook in course order -> its title)."""
    lines = ["---", "", "**Where next**", ""]
    mine = practised.get(notebook.stem, [])
    for src in mine:
        what = src.practises.split("—", 1)[1].strip() if "—" in src.practises else src.practises
        lines.append(f"- Exercise: [{src.title}](../exercises/student/{src.name}.ipynb) — {what}")
    if not mine:
        lines.append("- No exercise practises this notebook on its own; `exercises/README.md` lists them all.")
    order = list(titles)
    at = order.index(notebook)
    if at + 1 < len(order):
        following = order[at + 1]
        lines.append(f"- Next notebook: [{titles[following]}]({following.name})")
    else:
        lines.append("- This is the last notebook of the course.")
    return "\n".join(lines)


def _is_ours(cell) -> bool:
    return cell.cell_type == "markdown" and cell.get("metadata", {}).get("lessonlib", {}).get("generated") == MARK


def refresh(notebooks_dir: str | os.PathLike, source_dir: str | os.PathLike, check: bool = False) -> list[Path]:
    """Rewrite each notebook's "Where next" cell; returns the notebooks that changed (or would, with ``check``)."""
    notebooks = sorted(Path(notebooks_dir).glob("*.ipynb"))
    practised = exercises_by_notebook(source_dir)
    unknown = sorted(set(practised) - {p.stem for p in notebooks})
    if unknown:
        raise ValueError(f"exercise sources practise notebooks that do not exist: {', '.join(unknown)}")
    read = {path: nbformat.read(path, as_version=4) for path in notebooks}  # each notebook read once
    titles = {path: notebook_title(nb, path.stem) for path, nb in read.items()}
    changed = []
    for path, nb in read.items():
        text = where_next(path, titles, practised)
        kept = [c for c in nb.cells if not _is_ours(c)]
        if len(kept) == len(nb.cells) - 1 and _is_ours(nb.cells[-1]) and nb.cells[-1].source == text:
            continue
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata["lessonlib"] = {"generated": MARK}
        nb.cells = kept + [cell]
        changed.append(path)
        if not check:
            with atomic_write(path) as handle:
                nbformat.write(nb, handle)
    return changed
