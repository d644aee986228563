"""`lessonlib book`: the course as a static HTML site that opens from the file system, offline.

The book holds what a learner receives (:mod:`lessonlib.workbook.release`): the README's and the
exercises README's learner sections, every notebook of ``notebooks/`` with the outputs it was stored
with (or the executed copies of ``lessonlib workbook``'s ``build/``, ``executed=``), and the exercise
statements of ``exercises/student/`` — never a solution (:func:`~lessonlib.workbook.release.check_no_solutions`
runs first). A sidebar on every page lists the notebooks by lecture (Day 10.1, Day 10.2) with the lecture
section each teaches, taken from the README's "What it teaches" table; a search box searches every
heading's section of every page.

Why nbconvert with a template, not Jupyter Book or mkdocs-jupyter: nbconvert is already a core
dependency and renders the notebooks exactly as ``lessonlib workbook`` does (:mod:`lessonlib.workbook.html`:
MathJax from the local nbclassic copy, no CDN script); Jupyter Book 2 needs Node.js, and Jupyter Book
1 (Sphinx) and mkdocs would add a large tool chain to a learner's install for one page template, while
mkdocs' search fetches its index with ``fetch()``, which browsers refuse on ``file://``. Here the search
index is a script (``_static/search_index.js``) and the search a few lines of JavaScript, so the book
works opened as a file, with no server and no network.

Links between pages are rewritten to the pages (``.ipynb`` and ``.md`` -> ``.html``); a link to another
file of the course (a ``bench/results`` table) copies that file into the book. The folder is written
atomically (:func:`lessonlib.core.io.atomic_dir`): a rebuild replaces only a book lessonlib wrote.
"""
from __future__ import annotations

import copy
import html as html_escape
import json
import os
import posixpath
import re
import shutil
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from lessonlib.core.io import atomic_dir, atomic_write, check_replaceable
from lessonlib.workbook.html import (MATHJAX_CONFIG, MATHJAX_DIR, REVEAL_CDN, html_exporter, install_mathjax,
                                     lab_css, notebook_title, render_html)
from lessonlib.workbook.release import LEARNER_START, check_no_solutions, course_root, learner_part, student_notebooks

LECTURES = {"10.1": "Day 10.1 · Dual encoders", "10.2": "Day 10.2 · Cross encoders"}
"""The lectures (``../shared/seeds``) by the number the README's "What it teaches" table gives them."""
START = "Getting started"
MAX_COPIED_BYTES = 2 << 20  # a linked course file larger than this stays out of the book (the link is left as is)
NAV_SLOT = "<!-- lessonlib book: sidebar -->"  # replaced by the sidebar once the page's own links are rewritten
CHUNK_CHARS = 4000  # the text of one heading's section that the search index keeps

BOOK_TEMPLATE = """{%- extends 'offline.html.j2' -%}
{%- block notebook_css -%}
<link rel="stylesheet" href="{{ resources.book.root }}_static/notebook.css">
<link rel="stylesheet" href="{{ resources.book.root }}_static/book.css">
{%- endblock notebook_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light" data-book-root="{{ resources.book.root }}">
<nav class="book-nav">{{ resources.book.nav }}</nav>
<main class="book-main">
<section id="book-results" hidden></section>
{%- endblock body_header -%}
{% block footer_js %}
<script src="{{ resources.book.root }}_static/search_index.js"></script>
<script src="{{ resources.book.root }}_static/book.js"></script>
{% endblock footer_js %}
"""

BOOK_CSS = """a.anchor-link { display: none; }
.jp-Collapser { display: none; }
.jp-InputArea, .jp-InputArea-editor { overflow: hidden; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
body.jp-Notebook { display: flex; margin: 0; padding: 0; }
.book-nav { position: sticky; top: 0; align-self: flex-start; width: 19rem; min-width: 19rem; height: 100vh;
  overflow-y: auto; box-sizing: border-box; padding: 1rem; border-right: 1px solid #ddd; background: #fafafa;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.85rem; }
.book-nav h2 { font-size: 1rem; margin: 0 0 0.6rem 0; }
.book-nav h3 { font-size: 0.8rem; text-transform: uppercase; color: #555; margin: 1rem 0 0.3rem 0; }
.book-nav ul { list-style: none; padding: 0; margin: 0; }
.book-nav li { margin: 0.15rem 0; }
.book-nav a { color: #1a4f8b; text-decoration: none; }
.book-nav a:hover { text-decoration: underline; }
.book-nav li.current > a { font-weight: bold; color: #000; }
.book-nav .section { display: block; color: #777; font-size: 0.75rem; }
.book-nav input { width: 100%; box-sizing: border-box; padding: 0.3rem; margin-bottom: 0.5rem; }
.book-main { flex: 1; min-width: 0; padding: 1rem 2rem; }
#book-results { font-family: var(--jp-ui-font-family, sans-serif); border: 1px solid #bbb; background: #fffbe6; padding: 0.5rem 1rem; margin-bottom: 1rem; }
#book-results li { margin: 0.4rem 0; }
#book-results .snippet { display: block; color: #444; font-size: 0.85rem; }
"""

BOOK_JS = r"""// The book's search: window.LESSONLIB_BOOK (search_index.js) holds one entry per heading's section.
(function () {
  var box = document.getElementById("book-search"), panel = document.getElementById("book-results");
  var root = document.body.getAttribute("data-book-root") || "";
  var index = window.LESSONLIB_BOOK || [];
  var current = document.querySelector(".book-nav li.current");
  var nav = document.querySelector(".book-nav");
  if (current && nav) nav.scrollTop = current.offsetTop - nav.clientHeight / 2;
  if (!box || !panel) return;
  function count(text, word) {
    var n = 0, at = text.indexOf(word);
    while (at >= 0) { n++; at = text.indexOf(word, at + word.length); }
    return n;
  }
  function snippet(text, word) {
    var at = Math.max(0, text.toLowerCase().indexOf(word) - 60);
    return (at > 0 ? "…" : "") + text.substr(at, 180) + (at + 180 < text.length ? "…" : "");
  }
  function search(query) {
    var words = query.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 1; });
    panel.textContent = "";
    if (!words.length) { panel.hidden = true; return; }
    var hits = [];
    index.forEach(function (entry) {
      var text = entry.t.toLowerCase(), head = (entry.p + " " + entry.h).toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) {
        var n = count(text, words[i]) + 5 * count(head, words[i]);
        if (!n) return;
        score += n;
      }
      hits.push([score, entry]);
    });
    hits.sort(function (a, b) { return b[0] - a[0]; });
    var title = document.createElement("p");
    title.textContent = hits.length ? hits.length + " sections match “" + query + "”" : "Nothing matches “" + query + "”";
    panel.appendChild(title);
    var list = document.createElement("ul");
    hits.slice(0, 30).forEach(function (hit) {
      var entry = hit[1], item = document.createElement("li"), link = document.createElement("a");
      link.href = root + entry.u;
      link.textContent = entry.p + (entry.h && entry.h !== entry.p ? " › " + entry.h : "");
      var text = document.createElement("span");
      text.className = "snippet";
      text.textContent = snippet(entry.t, words[0]);
      item.appendChild(link);
      item.appendChild(text);
      list.appendChild(item);
    });
    panel.appendChild(list);
    panel.hidden = false;
  }
  box.addEventListener("input", function () { search(box.value); });
  box.addEventListener("keydown", function (e) { if (e.key === "Escape") { box.value = ""; search(""); } });
})();
"""


@dataclass
class Page:
    """One page of the book: its source in the course, where it goes in the book, and what the sidebar shows."""

    source: str  # the course-relative path it comes from, e.g. notebooks/05_ann_indexing.ipynb
    target: str  # the book-relative path it goes to, e.g. notebooks/05_ann_indexing.html
    title: str
    group: str  # the sidebar group: a lecture, "Getting started" or "Exercises"
    section: str = ""  # the lecture section it teaches, from the README table
    nb: Any = field(default=None, repr=False)


@dataclass
class BookReport:
    """What :func:`build_book` wrote: the folder, its pages, the course files it copied, its size and time."""

    out: Path
    pages: list[Page]
    copied: list[str]
    without_outputs: list[str]
    broken_links: list[str]
    bytes: int
    seconds: float


def lecture_sections(readme: str) -> dict[str, str]:
    """Notebook stem -> lecture section from the README's "What it teaches" table rows
    (``| 05 | `05_ann_indexing` | 10.1 §3.1 flat, IVF ... |``)."""
    found = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d\d", cells[0]) and re.fullmatch(r"`[^`]+`", cells[1]):
            found[cells[1].strip("`")] = cells[2]
    return found


def _group_of(section: str, previous: str) -> str:
    """The lecture a README section label names (``10.1 §3.1 ...`` -> Day 10.1), else the previous notebook's."""
    match = re.match(r"(\d+\.\d+)\b", section)
    if match:
        return LECTURES.get(match.group(1), f"Day {match.group(1)}")
    return previous


def _learner_text(path: Path) -> str:
    """A README's learner sections (the instructor's repository), or all of it (a learner's release has no markers)."""
    text = path.read_text(encoding="utf-8")
    return learner_part(text, path.name) if LEARNER_START in text else text


def _markdown_notebook(text: str) -> Any:
    """A one-cell notebook of Markdown ``text``; its cell id is fixed, so a rebuild writes the same page."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text, id="markdown")])


def plan_pages(root: Path, executed: Path | None = None) -> list[Page]:
    """The pages of the book of the course at ``root``, in sidebar order.

    ``executed``: a folder of executed notebooks (``lessonlib workbook``'s ``build/``); a notebook found
    there by name is taken from there, else from ``notebooks/``."""
    readme = _learner_text(root / "README.md")
    sections = lecture_sections(readme)
    front = _markdown_notebook(readme)
    pages = [Page("README.md", "index.html", notebook_title(front, "The course"), START, nb=front)]
    group = START
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        chosen = executed / path.name if executed is not None and (executed / path.name).is_file() else path
        nb = nbformat.read(chosen, as_version=4)
        section = sections.get(path.stem, "")
        group = _group_of(section, group)
        pages.append(Page(f"notebooks/{path.name}", f"notebooks/{path.stem}.html", notebook_title(nb, path.stem),
                          group, section, nb))
    if len(pages) == 1:
        raise FileNotFoundError(f"no notebooks in {root / 'notebooks'}")
    if (root / "exercises" / "README.md").is_file():
        text = _learner_text(root / "exercises" / "README.md")
        pages.append(Page("exercises/README.md", "exercises/README.html", "All exercises", "Exercises",
                          nb=_markdown_notebook(text)))
    for path in student_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        pages.append(Page(f"exercises/student/{path.name}", f"exercises/student/{path.stem}.html",
                          notebook_title(nb, path.stem), "Exercises", nb=nb))
    return pages


def _nav(pages: list[Page], current: Page) -> str:
    """The sidebar of ``current``'s page: the title, the search box, then each group's pages."""
    root = "../" * current.target.count("/")
    esc = html_escape.escape
    lines = [f'<h2><a href="{root}index.html">{esc(pages[0].title)}</a></h2>',
             '<input id="book-search" type="search" placeholder="Search the book" aria-label="Search the book">']
    group = None
    for page in pages:
        if page.group != group:
            if group is not None:
                lines.append("</ul>")
            group = page.group
            lines += [f"<h3>{esc(group)}</h3>", "<ul>"]
        mark = ' class="current"' if page is current else ""
        label = f'<span class="section">{esc(page.section)}</span>' if page.section else ""
        lines.append(f'<li{mark}><a href="{root}{page.target}">{esc(page.title)}</a>{label}</li>')
    lines.append("</ul>")
    return "\n".join(lines)


_LINK = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


PRIVATE = ("exercises/source/", "exercises/instructor/", "tests/")  # the instructor's: never copied into a book


def _copyable(root: Path, name: str) -> bool:
    """Whether the course file ``name`` (relative to ``root``) may be copied into the book for a link to it."""
    path = root / name
    return (not name.startswith(("../", "/")) and name != ".." and not name.startswith(PRIVATE) and path.is_file()
            and path.stat().st_size <= MAX_COPIED_BYTES)


def _rewrite_links(body: str, page: Page, targets: dict[str, str], root: Path, copies: dict[str, Path],
                   broken: list[str]) -> str:
    """``<a href>`` of ``body`` pointing into the course, pointed at the book: a page's source -> the page,
    another course file -> its copy (recorded in ``copies``); a link to nothing is kept and recorded in ``broken``."""
    here = posixpath.dirname(page.source)
    out_here = posixpath.dirname(page.target)

    def fix(match: re.Match) -> str:
        href = html_escape.unescape(match.group(2))
        if not href or href.startswith(("#", "/")) or _SCHEME.match(href):
            return match.group(0)
        path, _, fragment = href.partition("#")
        target = posixpath.normpath(posixpath.join(here, path))
        if target in targets:
            new = targets[target]
        elif _copyable(root, target):
            copies[target] = root / target
            new = target
        else:
            broken.append(f"{page.source}: {href}")
            return match.group(0)
        url = posixpath.relpath(new, out_here or ".") + (f"#{fragment}" if fragment else "")
        return match.group(1) + html_escape.escape(url) + match.group(3)

    return _LINK.sub(fix, body)


class _Sections(HTMLParser):
    """Split a rendered page's ``<main>`` into (heading id, heading text, text) by its h1-h4 headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[list[str]] = [["", "", ""]]
        self._depth_main = 0
        self._skip = 0
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._depth_main += 1
        elif tag in ("script", "style", "nav"):
            self._skip += 1
        elif self._depth_main and re.fullmatch(r"h[1-4]", tag):
            self._heading = dict(attrs).get("id") or ""
            self.sections.append([self._heading, "", ""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._depth_main -= 1
        elif tag in ("script", "style", "nav"):
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-4]", tag):
            self._heading = None

    def handle_data(self, data: str) -> None:
        if not self._depth_main or self._skip:
            return
        entry = self.sections[-1]
        if self._heading is not None:
            entry[1] += data
        elif len(entry[2]) < CHUNK_CHARS:
            entry[2] += data


def search_entries(body: str, page: Page) -> list[dict[str, str]]:
    """The search index's entries of one rendered page: one per heading's section, text squeezed and cut."""
    parser = _Sections()
    parser.feed(body)
    entries = []
    for anchor, heading, text in parser.sections:
        text = re.sub(r"\s+", " ", text).strip()[:CHUNK_CHARS]
        heading = re.sub(r"\s+", " ", heading).replace("¶", "").strip()
        if not text and not heading:
            continue
        url = page.target + (f"#{anchor}" if anchor else "")
        entries.append({"u": url, "p": page.title, "h": heading or page.title, "t": text})
    return entries


def slide_deck(nb: Any) -> Any:
    """A copy of ``nb`` cut into slides at its headings: a Markdown cell opening with ``#`` or ``##`` starts a
    slide, one opening with ``###`` a sub-slide, every other cell continues the slide before it. The
    ``slideshow`` metadata is the one nbconvert's slides and JupyterLab's RISE extension read."""
    deck = copy.deepcopy(nb)
    for cell in deck.cells:
        first = cell.source.lstrip().split("\n", 1)[0] if cell.cell_type == "markdown" else ""
        kind = "slide" if re.match(r"#{1,2}\s", first) else "subslide" if re.match(r"###\s", first) else "-"
        cell.metadata["slideshow"] = {"slide_type": kind}
    return deck


def export_slides(nb: Any, target: str | os.PathLike, reveal_prefix: str = REVEAL_CDN) -> Path:
    """Write :func:`slide_deck` of ``nb`` as a reveal.js page (nbconvert's ``SlidesExporter``) at ``target``
    (``NAME.slides.html``) and the deck as a notebook beside it (``NAME.ipynb``), for JupyterLab's RISE.

    nbconvert's reveal template loads reveal.js from ``reveal_prefix`` and jQuery, require.js and MathJax
    from a CDN when the page opens: the HTML deck needs the network, the notebook deck under RISE does not."""
    from nbconvert import SlidesExporter  # deferred: as render_html

    deck = slide_deck(nb)
    body, _ = SlidesExporter(reveal_url_prefix=reveal_prefix, reveal_scroll=True).from_notebook_node(deck)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as handle:
        handle.write(body)
    with atomic_write(target.with_name(target.name.removesuffix(".slides.html") + ".ipynb")) as handle:
        nbformat.write(deck, handle)
    return target


def _has_outputs(nb: Any) -> bool:
    return any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def build_book(out: str | os.PathLike, root: str | os.PathLike | None = None,
               executed: str | os.PathLike | None = None, overwrite: bool = True,
               slides: str | None = None) -> BookReport:
    """Render the course at ``root`` (default: this checkout) into the static site ``out``; see the module text.

    ``executed``: a folder of executed notebooks to take the notebooks from (``build/`` of ``lessonlib
    workbook``); ``overwrite``: replace a book lessonlib wrote at ``out`` before (never other files);
    ``slides``: also write each notebook as a reveal.js deck, ``slides/<name>.slides.html``, loading reveal.js
    from this URL or folder (:func:`export_slides`)."""
    start = time.perf_counter()
    root = course_root(Path(root) if root else None)
    out = Path(out).absolute()
    if executed is not None and not Path(executed).is_dir():
        raise FileNotFoundError(f"--from {executed}: no such folder")
    check_replaceable(out, overwrite=overwrite)
    pages = plan_pages(root, Path(executed) if executed is not None else None)
    source_dir = root / "exercises" / "source"
    if source_dir.is_dir():
        check_no_solutions({p.target: "\n".join(c.source for c in p.nb.cells) for p in pages}, source_dir)
    targets = {page.source: page.target for page in pages}
    copies: dict[str, Path] = {}
    broken: list[str] = []
    index: list[dict[str, str]] = []
    with atomic_dir(out) as tmp:
        install_mathjax(tmp)
        static = tmp / "_static"
        (static / "notebook.css").write_text(lab_css(), encoding="utf-8")
        (static / "book.css").write_text(BOOK_CSS, encoding="utf-8")
        (static / "book.js").write_text(BOOK_JS, encoding="utf-8")
        exporters: dict[str, Any] = {}  # one per page depth (its MathJax URL): building one costs ~0.1 s
        for page in pages:
            prefix = "../" * page.target.count("/")
            if prefix not in exporters:
                exporters[prefix] = html_exporter(f"{prefix}{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}",
                                                  "book.html.j2", {"book.html.j2": BOOK_TEMPLATE})
            body = render_html(exporters[prefix], page.nb, page.title, {"book": {"root": prefix, "nav": NAV_SLOT}})
            body = _rewrite_links(body, page, targets, root, copies, broken).replace(NAV_SLOT, _nav(pages, page), 1)
            index += search_entries(body, page)
            target = tmp / page.target
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        if slides is not None:
            for page in pages:
                if page.source.startswith("notebooks/"):
                    export_slides(page.nb, tmp / "slides" / f"{Path(page.source).stem}.slides.html", slides)
        for name, source in copies.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / name)
        (static / "search_index.js").write_text(
            "window.LESSONLIB_BOOK = " + json.dumps(index, ensure_ascii=False, separators=(",", ":")) + ";\n",
            encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    without = [p.source for p in pages if p.source.startswith("notebooks/") and not _has_outputs(p.nb)]
    return BookReport(out, pages, sorted(copies), without, broken, size, time.perf_counter() - start)
