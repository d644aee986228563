"""A grader that cannot be fooled: hostile submissions get 0 (or a timeout/memory status) and cost only their row."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lessonlib.workbook import exercises, grading
from lessonlib.workbook.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "exercises" / "source" / "ex14_reciprocal_rank_fusion.py"

CHEATS = {
    # patch the comparison the old in-kernel check used, and numpy's: the grader compares in its own process
    "patcher": "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda *a, **k: True\n"
               "try:\n    import lessonlib.workbook.checks.core as c\n    c.close = lambda *a, **k: True\nexcept ImportError:\n    pass\n"
               "def reciprocal_rank_fusion(rankings, k=60):\n    return {}\n",
    # call the reference implementation: lessonlib cannot be imported while grading
    "caller": "def reciprocal_rank_fusion(rankings, k=60):\n    from lessonlib.retrieval.fusion import rrf\n"
              "    runs = [{'q': {d: float(len(x) - i) for i, d in enumerate(x)}} for x in rankings]\n"
              "    return rrf(runs, k=k).get('q', {})\n",
    # get round the stub: drop its import blocker, import the real package from the repository, put the stub
    # back; the grader's guard still blocks rrf (by file and qualified name) while the function runs
    "bypasser": "import sys\n_saved = {m: sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] == 'lessonlib'}\n"
                "_meta = list(sys.meta_path)\nsys.meta_path[:] = [f for f in _meta if getattr(f, '__name__', '') != '_Blocked']\n"
                f"sys.path.insert(0, {str(ROOT)!r})\n"
                "from lessonlib.retrieval.fusion import rrf\n"
                "for _m in [m for m in sys.modules if m.split('.')[0] == 'lessonlib']:\n    del sys.modules[_m]\n"
                "sys.modules.update(_saved)\nsys.meta_path[:] = _meta\nsys.path.pop(0)\n"
                "def reciprocal_rank_fusion(rankings, k=60):\n"
                "    runs = [{'q': {d: float(len(x) - i) for i, d in enumerate(x)}} for x in rankings]\n"
                "    return rrf(runs, k=k).get('q', {})\n",
    # write the results file the old grader read: there is none, and the outputs file's name is secret
    "forger": "import os, json, glob\np = os.environ.get('LESSONLIB_CHECK_RESULTS')\n"
              "if p: open(p, 'w').write(json.dumps({'reciprocal_rank_fusion': {'passed': 99, 'total': 99, 'status': 'ok'}}))\n"
              "for f in glob.glob('out-*.json') + glob.glob('../*.csv'):\n    open(f, 'w').write('[]')\n"
              "def reciprocal_rank_fusion(rankings, k=60):\n    return {}\n",
    # kill the process that runs the notebook
    "killer": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    # print far more than the memory limit
    "printer": "for _ in range(2000):\n    print('x' * (1 << 20))\n",
}


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _with_code(src, code: str):
    nb = exercises.to_notebook(src, student=True)
    nb.cells.insert(2, nbformat.v4.new_code_cell(code))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    src = exercises.parse(SOURCE)
    _write(exercises.to_notebook(src, student=False), root / "ada" / "ex14.ipynb")  # honest and correct
    for name, code in CHEATS.items():
        _write(_with_code(src, code), root / name / "ex14.ipynb")
    shadow = exercises.to_notebook(src, student=True)
    _write(shadow, root / "shadow" / "ex14.ipynb")  # a lessonlib/ beside the notebook whose check() passes anything
    fake = root / "shadow" / "lessonlib" / "workbook" / "checks"
    fake.mkdir(parents=True)
    for folder in (root / "shadow" / "lessonlib", root / "shadow" / "lessonlib" / "workbook"):
        (folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("def check(*a, **k):\n    return None\n")
    slow = exercises.to_notebook(src, student=False)
    slow.cells += [nbformat.v4.new_code_cell("import time\ntime.sleep(0.5)") for _ in range(40)]
    _write(slow, root / "slow" / "ex14.ipynb")  # 20 s in 40 cells: over the per-submission limit
    odd = exercises.to_notebook(src, student=False)
    odd.metadata["lessonlib"] = ["not", "a", "dict"]
    _write(odd, root / "odd" / "ex14_reciprocal_rank_fusion.ipynb")  # malformed metadata: named by its file
    _write(exercises.to_notebook(src, student=True), root / "=HYPERLINK(evil)" / "ex14.ipynb")
    twice = root / "twice"
    _write(exercises.to_notebook(src, student=True), twice / "old" / "ex14.ipynb")
    time.sleep(0.05)
    _write(exercises.to_notebook(src, student=False), twice / "new" / "ex14.ipynb")
    os.utime(twice / "old" / "ex14.ipynb", (1, 1))
    # graded first (sorted by name): rewrites the last learner's submission and the grades file in place
    victim = root / "zz_victim" / "ex14.ipynb"
    _write(exercises.to_notebook(src, student=False), victim)
    vandal = (f"open({str(victim)!r}, 'w').write('{{}}')\n"
              f"open({str(root / 'grades.csv')!r}, 'w').write('learner,exercise,score\\naa_vandal,x,1\\n')\n")
    _write(_with_code(src, vandal), root / "aa_vandal" / "ex14.ipynb")
    out = root / "grades.csv"
    started = time.monotonic()
    code = main(["grade", str(root), "--out", str(out), "--timeout", "8", "--memory-mb", "1500"])
    elapsed = time.monotonic() - started
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return code, rows, json.loads(out.with_name("grades_summary.json").read_text()), elapsed


def _row(rows, learner):
    found = [r for r in rows if r["learner"] == learner]
    assert len(found) == 1, (learner, rows)
    return found[0]


def test_the_honest_learner_keeps_full_marks_whatever_the_others_do(graded):
    code, rows, summary, _ = graded
    assert code == 0
    assert _row(rows, "ada")["score"] == "1.0" and _row(rows, "ada")["status"] == "ok"


@pytest.mark.parametrize("learner", ["patcher", "caller", "forger", "shadow", "bypasser"])
def test_cheats_get_zero(graded, learner):
    _, rows, _, _ = graded
    assert _row(rows, learner)["score"] == "0.0", _row(rows, learner)
    if learner == "caller":
        assert "not available while grading" in _row(rows, learner)["detail"]
    if learner == "bypasser":  # the stub was bypassed; the guard in the grader's cell caught the call
        assert "rrf is not available during this check" in _row(rows, learner)["detail"], _row(rows, learner)


@pytest.mark.parametrize("learner", ["caller", "bypasser"])
def test_the_callers_cheat_would_pass_if_nothing_blocked_it(learner):
    """So that its 0 above means 'blocked', not 'wrong code': outside any check the function gives the
    reference's answers, and check() itself blocks it too."""
    from lessonlib.workbook.checks import REGISTRY, check

    spec = REGISTRY["reciprocal_rank_fusion"]
    scope: dict = {}
    exec(CHEATS["caller"], scope)
    for case in spec.make_cases(np.random.default_rng(5)):
        assert spec.same(scope["reciprocal_rank_fusion"](**case.kwargs), spec.reference(**case.kwargs))
    result = check("reciprocal_rank_fusion", scope["reciprocal_rank_fusion"], verbose=False)
    assert result.passed == 0 and "is not available during this check" in result.failures[0]


def test_a_submission_that_rewrites_other_files_changes_no_grade(graded):
    _, rows, _, _ = graded
    victim = _row(rows, "zz_victim")
    assert Path(victim["file"]).read_text() == "{}"  # the attack happened...
    assert float(victim["score"]) == 1.0  # ...but its notebook was read before the vandal ran
    assert float(_row(rows, "aa_vandal")["score"]) == 0.0
    assert {r["exercise"] for r in rows} == {"reciprocal_rank_fusion"}  # the CSV was rewritten after the vandal's run


def test_a_submission_that_kills_its_parent_costs_only_its_row(graded):
    _, rows, _, _ = graded
    row = _row(rows, "killer")
    assert row["score"] == "0.0" and row["status"] in {"crashed", "error"}, row


def test_printing_gigabytes_costs_only_that_row(graded):
    _, rows, _, _ = graded
    row = _row(rows, "printer")  # its function is the blank stub: 0 however far the printing gets (the kernel may die of it)
    assert row["score"] == "0.0" and row["status"] in {"memory", "timeout", "crashed", "not_implemented", "error"}, row
    assert _row(rows, "slow")["learner"] == "slow", "the submissions after it were graded"


def test_the_time_limit_is_per_submission_not_per_cell(graded):
    _, rows, _, elapsed = graded
    assert _row(rows, "slow")["status"] == "timeout"


def test_malformed_metadata_is_graded_by_the_file_name(graded):
    _, rows, _, _ = graded
    assert _row(rows, "odd")["score"] == "1.0"


def test_csv_cells_cannot_start_a_formula_and_details_are_capped(graded, tmp_path):
    code, rows, _, _ = graded
    assert any(r["learner"] == "'=HYPERLINK(evil)" for r in rows)
    assert all(not r[f][:1] in "=+-@" for r in rows for f in ("learner", "detail", "exercise") if r[f])
    assert all(len(r["detail"]) <= grading.DETAIL_CHARS + 51 for r in rows)


def test_hidden_cases_come_from_a_new_seed_each_run(graded, tmp_path):
    _, _, summary, _ = graded
    src = exercises.parse(SOURCE)
    _write(exercises.to_notebook(src, student=True), tmp_path / "x" / "ex14.ipynb")
    seeds = set()
    for n in range(2):
        main(["grade", str(tmp_path / "x"), "--out", str(tmp_path / f"g{n}.csv"), "--timeout", "10"])
        seeds.add(json.loads((tmp_path / f"g{n}_summary.json").read_text())["seed"])
    assert len(seeds | {summary["seed"]}) == 3, "cases drawn with seed 0 every time could be precomputed"


def test_the_summary_counts_the_latest_submission_once(graded):
    _, rows, summary, _ = graded
    assert summary["learners"]["twice"]["exercises"] == 1 and summary["learners"]["twice"]["score"] == 1.0


def test_ctrl_c_keeps_the_rows_so_far_and_stops_non_zero(tmp_path, monkeypatch, capsys):
    src = exercises.parse(SOURCE)
    for name in ("a", "b", "c"):
        _write(exercises.to_notebook(src, student=True), tmp_path / "subs" / name / "ex14.ipynb")
    calls = []

    def fake(learner, path, timeout, memory_mb, seed, source=None):
        calls.append(learner)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return grading.Grade(learner, "reciprocal_rank_fusion", 0, 1, "not_implemented", "", str(path))

    monkeypatch.setattr(grading, "grade_notebook", fake)
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "g.csv")]) == 130
    with open(tmp_path / "g.csv", newline="") as handle:
        assert [r["learner"] for r in csv.DictReader(handle)] == ["a"]


@pytest.mark.parametrize("flag", [["--timeout", "0"], ["--timeout", "-3"], ["--memory-mb", "0"]])
def test_limits_must_be_positive(tmp_path, flag):
    with pytest.raises(SystemExit):
        main(["grade", str(tmp_path), *flag])
