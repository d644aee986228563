"""Each lesson notebook ends with links to its exercises and to the next notebook (issue 28, item 8)."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import links

ROOT = Path(__file__).resolve().parents[1]


def test_committed_notebooks_end_with_the_links_their_sources_generate():
    stale = links.refresh(ROOT / "notebooks", ROOT / "exercises" / "source", check=True)
    assert not stale, f"run `lessonlib exercises links`: out of date in {[p.name for p in stale]}"


def test_every_exercise_is_linked_from_the_notebook_it_practises_and_every_link_resolves():
    practised = links.exercises_by_notebook(ROOT / "exercises" / "source")
    assert sum(len(v) for v in practised.values()) == len(list((ROOT / "exercises" / "source").glob("ex*.py")))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        last = nbformat.read(path, as_version=4).cells[-1].source
        for src in practised.get(path.stem, []):
            assert f"../exercises/student/{src.name}.ipynb" in last, (path.name, src.name)
        for target in __import__("re").findall(r"\]\(([^)]+\.ipynb)\)", last):
            assert (path.parent / target).resolve().is_file(), f"{path.name} links {target}, which does not exist"


def test_refresh_replaces_its_own_cell_only_and_refuses_an_unknown_notebook(tmp_path):
    nbs, src = tmp_path / "notebooks", tmp_path / "source"
    nbs.mkdir()
    shutil.copytree(ROOT / "exercises" / "source", src)
    for name in ("01_foundations", "02_contrastive_training"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}"), nbformat.v4.new_markdown_cell("mine")])
        nbformat.write(nb, nbs / f"{name}.ipynb")
    with pytest.raises(ValueError, match="do not exist: 03_negative_sampling"):
        links.refresh(nbs, src)
    for extra in src.glob("ex*.py"):
        if not extra.read_text().split("# practises: ", 1)[1].startswith(("01_", "02_")):
            extra.unlink()
    assert len(links.refresh(nbs, src)) == 2 and links.refresh(nbs, src) == []  # the second run changes nothing
    cells = nbformat.read(nbs / "01_foundations.ipynb", as_version=4).cells
    assert [c.source for c in cells[:2]] == ["# 01_foundations", "mine"] and len(cells) == 3
    assert "ex01_mean_pooling.ipynb" in cells[2].source and "[02_contrastive_training](02_contrastive_training.ipynb)" in cells[2].source
    assert "last notebook" in nbformat.read(nbs / "02_contrastive_training.ipynb", as_version=4).cells[-1].source
