"""Offline HTML pages of executed notebooks: titled, formulas typeset, no script from the internet.

nbconvert's ``lab`` template loads MathJax, require.js and mermaid from a CDN; offline, formulas stay
raw LaTeX and the page waits on scripts that never come. :func:`export_html` renders with that
template less those three scripts (``OFFLINE_TEMPLATE``): MathJax 2.7 comes from the copy that
nbclassic (Jupyter's classic notebook, a well-kept PyPI package) ships, installed once beside the
pages in ``_static/mathjax/`` by :func:`install_mathjax`; require.js serves only widget and legacy
JavaScript outputs, and the course's exported notebooks hold neither (``lessonlib workbook`` runs
knobs headless); no notebook draws mermaid. The page's title is the notebook's first heading.
Pages are written atomically with the user's umask (:func:`lessonlib.core.io.atomic_write`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from lessonlib.core.io import atomic_dir, atomic_write

MATHJAX_DIR = "_static/mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
"""The MathJax configuration nbclassic ships (nbconvert's default, TeX-AMS_CHTML-full, is not in that copy)."""
REVEAL_CDN = "https://unpkg.com/reveal.js@4.0.2"
"""nbconvert's default reveal.js for slide decks (loaded when a deck opens); offline, a local reveal.js 4 folder."""
_SKIPPED = ("localization", "SVG")  # English is built in; the SVG output is not the one configured

OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


def mathjax_source() -> Path:
    """The MathJax folder of the installed nbclassic package."""
    try:
        import nbclassic  # deferred: only a page export needs its MathJax
    except ImportError as exc:  # a core dependency; a broken install says so in one line
        raise FileNotFoundError("nbclassic is not installed: it carries the MathJax copy the HTML pages use "
                                "(pip install nbclassic)") from exc
    folder = Path(nbclassic.__file__).parent / "static" / "components" / "MathJax"
    if not (folder / "MathJax.js").is_file():
        raise FileNotFoundError(f"no MathJax.js in {folder}")
    return folder


def _version(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def install_mathjax(out: str | os.PathLike) -> Path:
    """Copy MathJax into ``out/_static/mathjax`` unless that version is there already; returns the folder.

    Written with :func:`lessonlib.core.io.atomic_dir`: a killed copy leaves no half folder, and an older
    copy is replaced only if lessonlib wrote it (someone else's folder there is an error, never deleted).
    """
    source, dest = mathjax_source(), Path(out) / MATHJAX_DIR
    if (dest / "MathJax.js").is_file() and _version(dest) == _version(source):
        return dest
    with atomic_dir(dest) as tmp:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(*_SKIPPED), dirs_exist_ok=True)
    return dest


def notebook_title(nb: Any, fallback: str) -> str:
    """The text of the notebook's first Markdown heading, without Markdown marks; else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                # emphasis and code marks and link targets go; a single underscore (a file name) stays
                text = re.sub(r"\*\*|__|[*`]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", match.group(1))
                return text.strip() or fallback
    return fallback


def html_exporter(mathjax_url: str, template: str = "offline.html.j2", templates: dict[str, str] | None = None) -> Any:
    """An nbconvert ``HTMLExporter`` rendering with ``template``: :data:`OFFLINE_TEMPLATE`'s ``offline.html.j2``
    or one of ``templates`` (name -> Jinja source, which may extend it). Building one loads the template
    environment; reuse it for every page with the same MathJax URL (:func:`render_html`)."""
    import jinja2  # deferred: nbconvert's exporter is slow to import, and only exports need it
    from nbconvert import HTMLExporter  # deferred: as above

    loader = jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE, **(templates or {})})
    return HTMLExporter(extra_loaders=[loader], template_file=template, mathjax_url=mathjax_url)


def render_html(exporter: Any, nb: Any, title: str, resources: dict[str, Any] | None = None) -> str:
    """The HTML of ``nb`` titled ``title`` by ``exporter`` (:func:`html_exporter`); ``resources`` reach the
    template as ``resources.<key>``."""
    body, _ = exporter.from_notebook_node(nb, resources={**(resources or {}), "metadata": {"name": title}})
    return body


def lab_css() -> str:
    """JupyterLab's notebook and light-theme style sheets as nbconvert's ``lab`` template inlines them."""
    from nbconvert import HTMLExporter  # deferred: as above

    for folder in HTMLExporter(template_name="lab").template_paths:
        static = Path(folder) / "static"
        if (static / "index.css").is_file() and (static / "theme-light.css").is_file():
            return (static / "index.css").read_text(encoding="utf-8") + "\n" + \
                (static / "theme-light.css").read_text(encoding="utf-8")
    raise FileNotFoundError("nbconvert's lab template has no static/index.css: reinstall nbconvert")


def export_html(nb: Any, target: str | os.PathLike) -> Path:
    """Write ``nb`` as an offline HTML page at ``target``, MathJax installed beside it."""
    target = Path(target)
    install_mathjax(target.parent)
    exporter = html_exporter(f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}")
    body = render_html(exporter, nb, notebook_title(nb, target.stem))
    with atomic_write(target) as handle:
        handle.write(body)
    return target
