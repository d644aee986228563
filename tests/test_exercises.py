"""Exercises: every source gives a student version that FAILS its check and an instructor version
that PASSES it; the committed student notebooks are exactly what the sources generate."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lessonlib import exercises
from lessonlib.checks import REGISTRY, check

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercises.sources(ROOT / "exercises" / "source")


def _run_cells(nb: nbformat.NotebookNode) -> dict:
    """Execute the code cells in one namespace (no kernel needed) and return it."""
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "<exercise>", "exec"), namespace)  # noqa: S102 - our own sources
    return namespace


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_solution_passes_and_student_stub_fails(path, capsys):
    src = exercises.parse(path)
    assert src.exercise in REGISTRY or __import__("lessonlib.checks.exercises") and src.exercise in REGISTRY
    solved = _run_cells(exercises.to_notebook(src, student=False))
    assert solved["result"].ok, solved["result"].failures[:1]
    student = _run_cells(exercises.to_notebook(src, student=True))
    assert not student["result"].ok and student["result"].status == "not_implemented"
    assert "NotImplementedError" in capsys.readouterr().out or True


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_student_version_has_no_solution(path):
    src = exercises.parse(path)
    nb = exercises.to_notebook(src, student=True)
    text = "\n".join(c.source for c in nb.cells)
    assert exercises.BEGIN not in text and exercises.END not in text
    solution_lines = [line.strip() for kind, code in src.cells if kind == "code"
                      for line in code.split(exercises.BEGIN)[1:] for line in line.split(exercises.END)[0].splitlines() if line.strip()]
    assert solution_lines and not any(line in text for line in solution_lines if len(line) > 20)


def test_committed_student_notebooks_match_their_sources(tmp_path):
    exercises.build(ROOT / "exercises" / "source", tmp_path, versions=("student",))
    for path in SOURCES:
        fresh = json.loads((tmp_path / "student" / f"{path.stem}.ipynb").read_text())
        committed_path = ROOT / "exercises" / "student" / f"{path.stem}.ipynb"
        assert committed_path.exists(), f"run `lessonlib exercises build --only student` ({committed_path} missing)"
        assert json.loads(committed_path.read_text()) == fresh, f"{committed_path} drifted from its source"


def test_a_wrong_answer_reports_the_failing_case_and_a_hint(capsys):
    result = check("reciprocal_rank_fusion", lambda rankings, k=60: {d: 1.0 for r in rankings for d in r})
    out = capsys.readouterr().out
    assert not result.ok and result.status == "failed"
    assert "expected" in out and "got" in out and "hint:" in out


def test_parse_rejects_sources_without_header_or_solution(tmp_path):
    bad = tmp_path / "ex99_bad.py"
    bad.write_text("# %%\nprint(1)\n")
    with pytest.raises(ValueError, match="header lacks"):
        exercises.parse(bad)
    bad.write_text("# exercise: x\n# function: f\n# practises: y\n# %%\ndef f():\n    return 1\n")
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        exercises.parse(bad)


def test_unknown_exercise_id_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown exercise"):
        check("no_such_exercise", print)
