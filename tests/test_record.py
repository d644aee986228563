"""Notebooks stored with their results (issue 28, items 1 and 4): the run stamp, the expected-results box,
the checks a stored notebook must pass, and ``lessonlib workbook --record``."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import record

ROOT = Path(__file__).resolve().parents[1]
CPU = "Intel Xeon, 2 cores"


def _nb() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · Title\n\nObjectives."),
                                           nbformat.v4.new_code_cell("x = 1"),
                                           nbformat.v4.new_code_cell("print(x)")])


def _executed(nb, text="1\n", **extra):
    done = nbformat.from_dict(json.loads(json.dumps(nb)))
    for count, cell in enumerate((c for c in done.cells if c.cell_type == "code"), 1):
        cell.execution_count = count
        cell.metadata["execution"] = {"iopub.status.busy": "2026-12-08T01:00:00Z"}
    done.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text), *extra.get("outputs", [])]
    return done


def _run(mode="full", device=CPU, wall=300.0, **results):
    return {"mode": mode, "device": device, "dataset": "scifact: 5,183 documents", "commit": "abc1234",
            "date": "2026-12-08T01:00:00+0000", "wall_s": wall, "results": results or {"BM25 nDCG@10": 0.6859}}


def test_a_full_run_stores_outputs_stamp_and_box_and_leaves_the_input_alone():
    stored = _nb()
    before = nbformat.writes(stored)
    done = record.record_run(stored, _executed(stored), _run())
    assert nbformat.writes(stored) == before
    assert done.cells[-1].outputs[0].text == "1\n" and "execution" not in done.cells[-1].metadata
    assert record.runs(done) == {"full-cpu": _run()} and done.metadata["lessonlib"]["outputs"] == "full-cpu"
    box = done.cells[1]
    assert box.metadata["lessonlib"]["generated"] == record.MARK
    assert "| CPU: Intel Xeon, 2 cores | 5.0 min | not recorded |" in box.source
    assert "| BM25 nDCG@10 | 0.6859 | – |" in box.source and "lessonlib abc1234, 2026-12-08" in box.source
    assert record.recorded_problems(done) == []


def test_a_fast_run_adds_its_column_and_keeps_the_full_outputs():
    stored = record.record_run(_nb(), _executed(_nb()), _run())
    fast = record.record_run(stored, None, _run("fast", wall=42.0, **{"BM25 nDCG@10": 0.7, "fast only": 3}))
    assert fast.cells[-1].outputs == stored.cells[-1].outputs
    assert "| CPU: Intel Xeon, 2 cores | 5.0 min | 42 s |" in fast.cells[1].source
    assert "| BM25 nDCG@10 | 0.6859 | 0.7 |" in fast.cells[1].source and "| fast only | – | 3 |" in fast.cells[1].source
    assert sum(c.metadata.get("lessonlib", {}).get("generated") == record.MARK for c in fast.cells) == 1
    gpu = record.record_run(fast, _executed(_nb()), _run(device="Xeon, 16 cores, GPU NVIDIA H100", wall=60.0))
    assert gpu.metadata["lessonlib"]["outputs"] == "full-gpu" and "| GPU: Xeon, 16 cores, GPU NVIDIA H100 | 60 s |" \
        in gpu.cells[1].source
    assert record.recorded_problems(gpu) == []


def test_a_run_of_other_cells_or_an_unknown_mode_is_refused():
    other = _nb()
    other.cells[1].source = "x = 2"
    with pytest.raises(ValueError, match="differ"):
        record.record_run(_nb(), _executed(other), _run())
    with pytest.raises(ValueError, match="mode"):
        record.record_run(_nb(), None, _run("slow"))
    with pytest.raises(ValueError, match="executed"):
        record.record_run(_nb(), None, _run())


def test_problems_name_what_a_stored_notebook_lacks():
    assert record.recorded_problems(_nb())[0].startswith("no full-mode run recorded")
    assert record.recorded_problems(record.record_run(_nb(), None, _run("fast")))[0].startswith("no full-mode")
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="boom", traceback=[])
    stray = nbformat.v4.new_output("execute_result", data={"text/plain": "<matplotlib.legend.Legend at 0x7f>"},
                                   execution_count=2)
    big = nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(os.urandom(300_000)).decode()})
    done = record.record_run(_nb(), _executed(_nb(), outputs=[error, stray, big]), _run())
    problems = record.recorded_problems(done)
    assert any("AssertionError: boom" in p for p in problems) and any("stray value" in p for p in problems)
    assert any("image/png over 250 kB" in p for p in problems)
    stale = record.record_run(_nb(), _executed(_nb()), _run())
    stale.metadata["lessonlib"]["runs"]["full-cpu"]["wall_s"] = 10.0
    assert any("box is missing or stale" in p for p in record.recorded_problems(stale))
    unrun = record.record_run(_nb(), _executed(_nb()), _run())
    unrun.cells[2].execution_count = None
    assert "cell 2 was not run" in record.recorded_problems(unrun)


def test_workbook_record_writes_back_in_place_fast_then_full(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · Tiny"), nbformat.v4.new_code_cell(
        "from lessonlib.workbook import report\nfrom lessonlib.core.config import is_fast\n"
        "print('fast' if is_fast() else 'full')\nreport.record('answer', 41 if is_fast() else 42);")])
    nbformat.write(nb, folder / "01_tiny.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("LESSONLIB_FAST", "LESSONLIB_DATA", "LESSONLIB_DATASET")}
    cmd = [sys.executable, "-m", "lessonlib.workbook.cli", "workbook", "--record", "--notebooks", str(folder),
           "--out", str(tmp_path / "build")]
    subprocess.run(cmd + ["--fast"], check=True, env=env, capture_output=True, timeout=600)
    fast = nbformat.read(folder / "01_tiny.ipynb", as_version=4)
    assert not fast.cells[-1].outputs and record.runs(fast)["fast-cpu"]["results"] == {"answer": 41}
    assert "sample" in record.runs(fast)["fast-cpu"]["dataset"]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=600)
    full = nbformat.read(folder / "01_tiny.ipynb", as_version=4)
    assert full.cells[-1].outputs[0]["text"] == "full\n"
    assert "| answer | 42 | 41 |" in full.cells[1].source and record.recorded_problems(full) == []
    assert not any("execution" in c.metadata for c in full.cells)
