"""`lessonlib workbook` on a folder of tiny notebooks: results collected, failures and cell timeouts
reported per notebook, the remaining notebooks still run under --keep-going."""

from __future__ import annotations

import json

import nbformat
import pytest

from lessonlib.cli import main


def _notebook(folder, name: str, source: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    # the runner sets these for its kernels; monkeypatch puts the test process's values back
    monkeypatch.setenv("LESSONLIB_FAST", "1")
    monkeypatch.setenv("LESSONLIB_RESULTS", str(tmp_path / "unused.json"))
    monkeypatch.setenv("LESSONLIB_WIDGETS", "1")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs, "a_ok", "from lessonlib import report\nreport.record('answer', 42)")
    _notebook(nbs, "b_fails", "raise ValueError('broken on purpose')")
    _notebook(nbs, "c_hangs", "import time\ntime.sleep(60)")
    _notebook(nbs, "d_ok", "from lessonlib import report\nreport.record('later', 7)")
    return tmp_path


def test_workbook_reports_failures_and_timeouts_and_keeps_going(folder, capsys):
    out = folder / "build"
    rc = main(["workbook", "--notebooks", str(folder / "notebooks"), "--out", str(out), "--timeout", "5", "--keep-going", "--fast"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "[ok] a_ok.ipynb" in captured.err and "[FAILED] b_fails.ipynb" in captured.err
    assert "[TIMEOUT] c_hangs.ipynb" in captured.err, "a cell past --timeout fails its notebook, not the run"
    assert "[ok] d_ok.ipynb" in captured.err, "--keep-going runs the notebook after a timeout"
    assert "answer: 42" in captured.out and "later: 7" in captured.out
    assert "2 notebooks ok, 2 failed" in captured.out
    assert json.loads((out / "results" / "a_ok.json").read_text())["answer"]["value"] == 42
    assert (out / "c_hangs.ipynb").exists(), "the partly executed notebook is written for inspection"


def test_workbook_stops_at_first_failure_without_keep_going(folder, capsys):
    rc = main(["workbook", "--notebooks", str(folder / "notebooks"), "--out", str(folder / "build"), "--only", "[ab]_*", "--fast"])
    captured = capsys.readouterr()
    assert rc == 1 and "[FAILED] b_fails.ipynb" in captured.err
    assert "1 notebooks ok, 1 failed" in captured.out


def test_workbook_rejects_a_pattern_that_matches_nothing(folder, capsys):
    assert main(["workbook", "--notebooks", str(folder / "notebooks"), "--only", "zzz*"]) == 2
    assert "matches no notebook" in capsys.readouterr().err


@pytest.mark.parametrize("flags, enabled", [([], False), (["--widgets"], True)])
def test_workbook_turns_widget_knobs_off_unless_asked(folder, capsys, flags, enabled):
    knob = folder / "knob"
    knob.mkdir()
    _notebook(knob, "k", "from lessonlib import knobs, report\nreport.record('widgets', knobs.widgets_enabled())\n"
                         "def draw(x):\n    report.record('x', x)\nknobs.interact(draw, x=(0, 10))")
    assert main(["workbook", "--notebooks", str(knob), "--out", str(folder / "build"), "--fast", *flags]) == 0
    assert f"widgets: {enabled}" in capsys.readouterr().out
    assert json.loads((folder / "build" / "results" / "k.json").read_text())["x"]["value"] == 5, "the knob ran once at its default"
