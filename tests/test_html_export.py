"""Offline HTML pages (issue 29, item 4): the notebook's title, MathJax beside the page, no CDN script, the umask."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import html

ROOT = Path(__file__).resolve().parents[1]


def _page(tmp_path: Path, nb=None) -> tuple[Path, str]:
    nb = nb or nbformat.read(ROOT / "notebooks" / "01_foundations.ipynb", as_version=4)
    path = html.export_html(nb, tmp_path / "site" / "01_foundations.html")
    return path, path.read_text()


def test_page_is_titled_by_the_first_heading_and_loads_nothing_from_the_internet(tmp_path):
    _, body = _page(tmp_path)
    assert "<title>01 · Foundations of dual encoders" in body
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", body)
    assert scripts == [f"{html.MATHJAX_DIR}/MathJax.js?config={html.MATHJAX_CONFIG}"]
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", body)  # no remote script, style or font
    assert not re.search(r"import[^;\n]*['\"]https?://", body)  # no ES-module import from a CDN (mermaid)
    assert "$$" in body or "\\(" in body or "$" in body  # the formulas are there for MathJax to typeset


def test_mathjax_is_installed_beside_the_page_once(tmp_path):
    path, _ = _page(tmp_path)
    mathjax = path.parent / html.MATHJAX_DIR
    config = html.MATHJAX_CONFIG.split(",")[0]
    assert (mathjax / "MathJax.js").is_file() and (mathjax / "config" / f"{config}.js").is_file()
    stamp = (mathjax / "MathJax.js").stat().st_mtime_ns
    html.export_html(nbformat.v4.new_notebook(), path.parent / "empty.html")
    assert (mathjax / "MathJax.js").stat().st_mtime_ns == stamp  # the same version is not copied again
    assert not list(path.parent.glob(".mathjax.*"))


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_page_mode_follows_the_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        path, _ = _page(tmp_path)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == expected


def test_title_falls_back_to_the_file_name_and_drops_markdown_marks():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    assert html.notebook_title(nb, "fallback") == "fallback"
    nb.cells.append(nbformat.v4.new_markdown_cell("intro\n## **Bold** `code` and [a link](x.ipynb) ##"))
    assert html.notebook_title(nb, "fallback") == "Bold code and a link"


def test_mathjax_never_replaces_a_folder_lessonlib_did_not_write(tmp_path):
    theirs = tmp_path / html.MATHJAX_DIR
    theirs.mkdir(parents=True)
    (theirs / "MathJax.js").write_text("// someone's own MathJax")
    (theirs / "package.json").write_text('{"version": "0.0"}')
    with pytest.raises(FileExistsError, match="lessonlib did not write"):
        html.install_mathjax(tmp_path)
    assert (theirs / "MathJax.js").read_text() == "// someone's own MathJax"
