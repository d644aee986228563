"""`lessonlib grade` on sample submissions: correct, blank, broken, looping forever, cells deleted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import exercises
from lessonlib.workbook.cli import main

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "exercises" / "source" / "ex14_reciprocal_rank_fusion.py"


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    src = exercises.parse(SOURCE)
    _write(exercises.to_notebook(src, student=False), root / "ada" / "ex14.ipynb")  # all correct
    _write(exercises.to_notebook(src, student=True), root / "bob" / "ex14.ipynb")  # blank
    broken = exercises.to_notebook(src, student=False)
    broken.cells[1].source = broken.cells[1].source.replace("1.0 / (k + rank)", "1.0 / (k + rank) + undefined_name")
    _write(broken, root / "cem" / "ex14.ipynb")  # raises NameError
    looping = exercises.to_notebook(src, student=False)
    looping.cells[1].source += "\nwhile True:\n    pass\n"
    _write(looping, root / "dee" / "ex14.ipynb")  # never finishes
    deleted = exercises.to_notebook(src, student=False)
    deleted.cells = [c for c in deleted.cells if "check(" not in c.source or "def " in c.source]
    _write(deleted, root / "eve" / "ex14.ipynb")  # check cell deleted: the grader runs its own
    (root / "fay").mkdir()
    (root / "fay" / "ex14.ipynb").write_text("{not json")  # unreadable file
    out = root / "grades.csv"
    assert main(["grade", str(root), "--out", str(out), "--timeout", "10"]) == 0
    with open(out) as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    return rows, json.loads(out.with_name("grades_summary.json").read_text())


def test_correct_submission_gets_full_marks(grades):
    rows, _ = grades
    assert rows["ada"]["score"] == "1.0" and rows["ada"]["status"] == "ok"
    assert rows["ada"]["exercise"] == "reciprocal_rank_fusion"


def test_blank_submission_scores_zero_as_not_implemented(grades):
    rows, _ = grades
    assert rows["bob"]["score"] == "0.0" and rows["bob"]["status"] == "not_implemented"


def test_broken_submission_is_scored_and_reported(grades):
    rows, _ = grades
    assert rows["cem"]["score"] == "0.0" and rows["cem"]["status"] == "error"
    assert "NameError" in rows["cem"]["detail"]


def test_infinite_loop_is_stopped_at_the_time_limit(grades):
    rows, _ = grades
    assert rows["dee"]["status"] == "timeout" and rows["dee"]["score"] == "0.0"


def test_deleted_check_cell_is_still_graded_by_the_grader(grades):
    rows, _ = grades
    assert rows["eve"]["score"] == "1.0"


def test_unreadable_file_is_reported_not_fatal(grades):
    rows, summary = grades
    assert rows["fay"]["status"] == "unreadable"
    assert summary["learners"]["ada"]["score"] == 1.0
    assert set(summary["learners"]) == {"ada", "bob", "cem", "dee", "eve", "fay"} and isinstance(summary["seed"], int)


def test_grade_of_missing_path_is_one_line_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
