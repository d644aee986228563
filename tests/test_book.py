"""`lessonlib book` (issue 28, item 2): the offline site of the course — pages, sidebar, search, links, no solution."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import book, release
from lessonlib.workbook.cli import main

ROOT = Path(__file__).resolve().parents[1]

README = """<!-- learner:start -->
# A tiny course

Start with [the first notebook](notebooks/01_first.ipynb).

## What it teaches

| # | notebook | lecture section |
| --- | --- | --- |
| 00 | `00_setup` | environment, data |
| 01 | `01_first` | 10.1 §1 separate encoding |
| 02 | `02_second` | 10.2 §1 joint encoding |
<!-- learner:end -->

## For instructors

Secret grading notes.
"""


def _notebook(title: str, *markdown: str, code: str = "x = 1", outputs: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\n\n## Objectives\n\nLearn things.")])
    nb.cells += [nbformat.v4.new_markdown_cell(text) for text in markdown]
    cell = nbformat.v4.new_code_cell(code)
    if outputs:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="nDCG@10 0.5\n")]
    nb.cells.append(cell)
    return nb


def _course(tmp_path: Path) -> Path:
    """A course folder as `course_root` expects one: README, three notebooks, the real exercises, a bench table."""
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "lessonlib").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (root / "README.md").write_text(README)
    shutil.copytree(ROOT / "exercises", root / "exercises", ignore=shutil.ignore_patterns("instructor", "__pycache__"))
    (root / "bench" / "results").mkdir(parents=True)
    (root / "bench" / "results" / "table.txt").write_text("| system | nDCG@10 |\n")
    nbformat.write(_notebook("00 · Setup"), root / "notebooks" / "00_setup.ipynb")
    nbformat.write(_notebook("01 · First", "## Kernel pooling\n\nSee [the table](../bench/results/table.txt), "
                             "[the next one](02_second.ipynb#Objectives), [nothing](missing.ipynb), "
                             "[a solution](../exercises/source/ex01_mean_pooling.py) and "
                             "[the web](https://example.org).", outputs=True), root / "notebooks" / "01_first.ipynb")
    nbformat.write(_notebook("02 · Second", "Practise with [exercise 1](../exercises/student/ex01_mean_pooling.ipynb)."),
                   root / "notebooks" / "02_second.ipynb")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = _course(tmp_path_factory.mktemp("tiny"))
    return root, book.build_book(root.parent / "site", root=root)


def test_pages_are_the_learners_course_in_lecture_order(tiny):
    root, report = tiny
    targets = [p.target for p in report.pages]
    assert targets[:4] == ["index.html", "notebooks/00_setup.html", "notebooks/01_first.html", "notebooks/02_second.html"]
    assert "exercises/README.html" in targets
    students = sorted(p.stem for p in (root / "exercises" / "student").glob("*.ipynb"))
    assert [t for t in targets if t.startswith("exercises/student/")] == [f"exercises/student/{s}.html" for s in students]
    groups = {p.target: p.group for p in report.pages}
    assert groups["notebooks/00_setup.html"] == book.START
    assert groups["notebooks/01_first.html"] == book.LECTURES["10.1"]
    assert groups["notebooks/02_second.html"] == book.LECTURES["10.2"]
    assert {p.section for p in report.pages if p.target == "notebooks/01_first.html"} == {"10.1 §1 separate encoding"}
    assert report.without_outputs == ["notebooks/00_setup.ipynb", "notebooks/02_second.ipynb"]
    index = (report.out / "index.html").read_text()
    assert "A tiny course" in index and "Secret grading notes" not in index  # the learner sections only


def test_links_point_at_the_pages_and_linked_files_are_copied(tiny):
    _, report = tiny
    first = (report.out / "notebooks" / "01_first.html").read_text()
    assert 'href="02_second.html#Objectives"' in first
    assert 'href="../bench/results/table.txt"' in first and (report.out / "bench" / "results" / "table.txt").is_file()
    assert 'href="https://example.org"' in first
    assert report.copied == ["bench/results/table.txt"]
    assert report.broken_links == ["notebooks/01_first.ipynb: missing.ipynb",  # nothing there
                                   "notebooks/01_first.ipynb: ../exercises/source/ex01_mean_pooling.py"]  # private
    assert not (report.out / "exercises" / "source").exists()
    second = (report.out / "notebooks" / "02_second.html").read_text()
    assert 'href="../exercises/student/ex01_mean_pooling.html"' in second
    assert 'href="notebooks/01_first.html"' in (report.out / "index.html").read_text()


def test_every_page_has_the_sidebar_and_loads_nothing_from_the_internet(tiny):
    _, report = tiny
    for page in report.pages:
        body = (report.out / page.target).read_text()
        prefix = "../" * page.target.count("/")
        assert body.count('id="book-search"') == 1 and 'class="current"' in body
        assert f'<li class="current"><a href="{prefix}{page.target}">' in body
        for url in re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", body):
            assert not re.match(r"(?:https?:)?//", url), f"{page.target} loads {url}"
            assert (report.out / page.target).parent.joinpath(url.split("?")[0]).resolve().is_file(), url
    assert (report.out / book.MATHJAX_DIR / "MathJax.js").is_file()


def test_search_index_names_sections_that_exist(tiny):
    _, report = tiny
    text = (report.out / "_static" / "search_index.js").read_text()
    entries = json.loads(text.removeprefix("window.LESSONLIB_BOOK = ").rstrip().rstrip(";"))
    kernel = [e for e in entries if e["h"] == "Kernel pooling"]
    assert len(kernel) == 1 and "the table" in kernel[0]["t"] and kernel[0]["p"] == "01 · First"
    for entry in entries:
        page, _, anchor = entry["u"].partition("#")
        ids = {html.unescape(i) for i in re.findall(r'\bid="([^"]*)"', (report.out / page).read_text())}
        assert not anchor or anchor in ids, entry["u"]
    assert any("nDCG@10 0.5" in e["t"] for e in entries)  # outputs are searchable


def test_a_rebuild_replaces_its_own_book_but_never_other_files(tiny, tmp_path):
    root, report = tiny
    again = book.build_book(report.out, root=root)
    assert again.out == report.out and (report.out / "index.html").is_file()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="lessonlib did not write"):
        book.build_book(theirs, root=root)
    assert (theirs / "notes.txt").read_text() == "mine" and len(list(theirs.iterdir())) == 1


def test_a_page_holding_a_solution_line_is_refused(tmp_path):
    root = _course(tmp_path)
    _, lines = release.solution_regions(root / "exercises" / "source")[0]
    nbformat.write(_notebook("00 · Setup", code=lines[0]), root / "notebooks" / "00_setup.ipynb")
    with pytest.raises(ValueError, match="solution"):
        book.build_book(tmp_path / "site", root=root)
    assert not (tmp_path / "site").exists()


def test_executed_copies_replace_the_stored_notebooks(tmp_path):
    root = _course(tmp_path)
    build = tmp_path / "build"
    build.mkdir()
    nbformat.write(_notebook("00 · Setup", outputs=True), build / "00_setup.ipynb")
    report = book.build_book(tmp_path / "site", root=root, executed=build)
    assert "notebooks/00_setup.ipynb" not in report.without_outputs
    assert "nDCG@10 0.5" in (report.out / "notebooks" / "00_setup.html").read_text()
    with pytest.raises(FileNotFoundError, match="no such folder"):
        book.build_book(tmp_path / "site2", root=root, executed=tmp_path / "nowhere")


def test_command_line_prints_size_and_time_and_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    root = _course(tmp_path)
    assert main(["book", "--root", str(root), "--out", str(tmp_path / "site")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"lessonlib book: \d+ pages \(3 notebooks, \d+ exercises, the READMEs\) .* MiB, \d+ s", err)
    monkeypatch.chdir(root)  # inside a course folder (a learner's release, say), no --root: that course
    assert main(["book", "--out", str(tmp_path / "here")]) == 0
    assert "(3 notebooks," in capsys.readouterr().err
    assert main(["book", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_real_course_book_has_every_notebook_in_a_lecture_and_no_dead_link(tmp_path):
    sections = book.lecture_sections(release.learner_part((ROOT / "README.md").read_text()))
    stems = [p.stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert [s for s in stems if s not in sections] == []  # the README's table names every notebook
    report = book.build_book(tmp_path / "site", root=ROOT)
    assert report.broken_links == []
    assert {p.group for p in report.pages} == {book.START, *book.LECTURES.values(), "Exercises"}
    for page in report.pages:
        body = (report.out / page.target).read_text()
        for href in re.findall(r"<a\b[^>]*?\bhref=\"([^\"#]+)", body):
            if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", href):
                assert (report.out / page.target).parent.joinpath(href).resolve().is_file(), f"{page.target}: {href}"


def test_slide_decks_cut_at_headings_and_leave_the_notebook_alone(tmp_path):
    nb = _notebook("01 · First", "## Part one\n\ntext", "### A detail", "plain text")
    before = nbformat.writes(nb)
    deck = book.slide_deck(nb)
    assert [c.metadata["slideshow"]["slide_type"] for c in deck.cells] == ["slide", "slide", "subslide", "-", "-"]
    assert nbformat.writes(nb) == before  # a copy is cut, not the notebook
    root = _course(tmp_path)
    report = book.build_book(tmp_path / "site", root=root, slides="reveal")
    decks = sorted(p.name for p in (report.out / "slides").iterdir())
    assert decks == ["00_setup.ipynb", "00_setup.slides.html", "01_first.ipynb", "01_first.slides.html",
                     "02_second.ipynb", "02_second.slides.html"]
    page = (report.out / "slides" / "01_first.slides.html").read_text()
    assert page.count("<section") >= 3 and "reveal/" in page
    assert nbformat.read(report.out / "slides" / "01_first.ipynb", as_version=4).cells[1].metadata["slideshow"] == \
        {"slide_type": "slide"}
