"""One source for every figure in prose (issue 28, item 3).

A Markdown cell never types a measured figure: a number it states comes from the notebook's own
output or from ``bench/results/`` through ``lessonlib.workbook.report.cite`` (or the cited data of
``lessonlib.evaluation.published``), rendered by a code cell, so prose cannot drift from the
measurement. And every file a notebook names under the repository exists there (no ``FINDINGS.md``
that only the developers have).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))

#: a metric-like figure: 0 followed by three or more decimals (0.686, −0.0429), not a knob such as 0.1 or 0.15
FIGURE = re.compile(r"(?<![\w.$/])[+−-]?0\.\d{3,}\b")
#: knob values a Markdown cell may name (they are settings, not measurements): (notebook, value)
KNOBS = {("04_advanced_training.ipynb", "0.999")}  # EMA momentum 0.9 / 0.99 / 0.999 in "what to try next"
#: files the prose names: bench results, notebooks, exercises, package modules, data files
NAMED_FILE = re.compile(r"\b((?:bench/results|notebooks|exercises/student|data)/[\w./-]+\.(?:txt|md|png|ipynb|jsonl|tsv))\b")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _generated(cell: dict) -> bool:
    """The expected-results box: rendered from the notebook's recorded runs (lessonlib.workbook.record), not typed."""
    return cell.get("metadata", {}).get("lessonlib", {}).get("generated") == "expected-results"


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 25


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_states_no_typed_figure(path):
    typed = [(i, m.group(0)) for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "markdown"
             and not _generated(cell) for m in FIGURE.finditer("".join(cell["source"])) if (path.name, m.group(0)) not in KNOBS]
    assert not typed, (f"{path.name}: Markdown cells type measured figures {typed[:5]}; render them from the notebook's "
                       "output or with lessonlib.workbook.report.cite (display(Markdown(...)))")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_file_the_notebook_names_exists(path):
    text = "\n".join("".join(cell["source"]) for cell in _cells(path))
    assert "FINDINGS" not in text, f"{path.name} cites FINDINGS.md, which is not in the repository"
    missing = sorted({name for name in NAMED_FILE.findall(text) if "*" not in name and "NN" not in name
                      and not (ROOT / name).exists()})
    assert not missing, f"{path.name} names files that are not in the repository: {missing}"


def test_the_figure_pattern_catches_figures_and_spares_knobs():
    found = lambda text: FIGURE.findall(text)  # noqa: E731
    assert found("BM25 0.686 and CE +0.0429, Δ −0.017") == ["0.686", "+0.0429", "−0.017"]
    assert found("p = 0.15, lr 3e-5, dropout 0.1, $0.085/h, v0.2.100") == []


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}


def _number(words: str) -> int:
    """'Twenty-nine' -> 29, 'seventeen' -> 17."""
    parts = words.lower().split("-")
    value = TENS.get(parts[0], None)
    if value is None:
        return NUMBER_WORDS.index(parts[0])
    return value + (NUMBER_WORDS.index(parts[1]) if len(parts) > 1 else 0)


@pytest.mark.parametrize("readme", ["README.md", "exercises/README.md"])
def test_readmes_count_the_exercises_there_are(readme):
    """The READMEs say how many exercises there are in words; the count follows exercises/source."""
    count = len(list((ROOT / "exercises" / "source").glob("ex*.py")))
    said = re.findall(r"\b([A-Za-z]+(?:-[a-z]+)?) short coding exercises", (ROOT / readme).read_text())
    assert said, f"{readme} no longer says how many exercises there are"
    assert [_number(s) for s in said] == [count] * len(said), f"{readme} says {said}, exercises/source holds {count}"
