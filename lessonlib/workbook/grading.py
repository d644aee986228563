"""Grade exercise submissions: execute each notebook with a time limit, run its check, write a CSV.

A submission is an exercise notebook a learner completed. The grader runs it on a fresh kernel
(nbclient) with a per-cell time limit, then appends its OWN cell that calls the exercise's check on
the learner's function, so deleting or editing the check cell does not change the grade. Broken
code, exceptions, infinite loops (killed at the time limit) and deleted cells are scored and
reported; the grader itself never crashes on a submission.

Learner names come from the folder layout ``<root>/<learner>/<exercise>.ipynb`` or from file names
``<learner>__<exercise>.ipynb``. This contains accidents, not a determined attacker: submissions
run as the grader's user, so run it in a container for untrusted code.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lessonlib.workbook.checks import REGISTRY
from lessonlib.core.io import atomic_write

FIELDS = ["learner", "exercise", "passed", "total", "score", "status", "detail", "file"]


@dataclass
class Grade:
    learner: str
    exercise: str
    passed: int
    total: int
    status: str
    detail: str
    file: str

    @property
    def score(self) -> float:
        return round(self.passed / self.total, 4) if self.total else 0.0


def find_submissions(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """(learner, notebook) pairs under the given files or folders."""
    found: list[tuple[str, Path]] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"grade: {root} does not exist")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        for nb in files:
            if "__" in nb.stem:
                learner = nb.stem.split("__", 1)[0]
            elif root.is_dir() and nb.parent != root:
                learner = nb.relative_to(root).parts[0]
            else:
                learner = nb.stem
            found.append((learner, nb))
    return found


def _identify(nb: nbformat.NotebookNode, path: Path) -> tuple[str, str] | None:
    """(exercise id, function name) from the notebook's metadata, else from its file name."""
    meta = nb.get("metadata", {}).get("lessonlib", {})
    if meta.get("exercise") and meta.get("function"):
        return meta["exercise"], meta["function"]

    for exercise_id in REGISTRY:
        if exercise_id in path.stem:
            return exercise_id, exercise_id
    return None


def grade_notebook(learner: str, path: Path, timeout: int = 60) -> Grade:
    """Execute one submission and grade it; never raises for a bad submission."""
    from nbclient import NotebookClient

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # unreadable JSON, wrong format
        return Grade(learner, "?", 0, 0, "unreadable", f"{type(exc).__name__}: {exc}"[:200], str(path))
    ident = _identify(nb, path)
    if ident is None:
        return Grade(learner, "?", 0, 0, "unknown_exercise", "no lessonlib metadata and no exercise id in the file name", str(path))
    exercise, function = ident

    total = len(REGISTRY[exercise].cases(__import__("numpy").random.default_rng(0))) if exercise in REGISTRY else 0
    with tempfile.TemporaryDirectory(prefix="lessonlib-grade-") as tmp:
        results = Path(tmp) / "results.json"
        grader_cell = nbformat.v4.new_code_cell(
            "import os as _os, json as _json\n"
            f"_p = {str(results)!r}\n"
            "if _os.path.exists(_p): _os.remove(_p)\n"
            "from lessonlib.workbook.checks import check as _grader_check\n"
            f"_grader_check({exercise!r}, {function}, verbose=False)\n"
        )
        nb.cells = [c for c in nb.cells if c.get("cell_type") in ("code", "markdown")] + [grader_cell]
        env_before = os.environ.get("LESSONLIB_CHECK_RESULTS")
        os.environ["LESSONLIB_CHECK_RESULTS"] = str(results)
        status, detail = "ok", ""
        try:
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                    resources={"metadata": {"path": str(path.parent)}})
            client.execute()
        except Exception as exc:  # timeouts, dead kernels
            status = "timeout" if "timed out" in str(exc).lower() or "Timeout" in type(exc).__name__ else "crashed"
            detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:200]
        finally:
            if env_before is None:
                os.environ.pop("LESSONLIB_CHECK_RESULTS", None)
            else:
                os.environ["LESSONLIB_CHECK_RESULTS"] = env_before
        recorded = {}
        if results.exists():
            try:
                recorded = json.loads(results.read_text()).get(exercise, {})
            except json.JSONDecodeError:
                recorded = {}
    if recorded:
        passed, total = int(recorded["passed"]), int(recorded["total"])
        check_status = recorded["status"]
        status = check_status if status == "ok" else status
        detail = detail or recorded.get("first_failure", "")
    else:
        passed = 0
        if status == "ok":
            errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            status = "error"
            detail = f"{errors[-1]['ename']}: {errors[-1]['evalue']}"[:200] if errors else "the check did not run"
    return Grade(learner, exercise, passed, total, status, detail, str(path))


def grade(paths: list[str | Path], out_csv: str | Path, timeout: int = 60, progress: bool = True) -> list[Grade]:
    """Grade every submission under ``paths``; write ``out_csv`` and ``<out_csv stem>_summary.json``."""
    from tqdm.auto import tqdm

    submissions = find_submissions(paths)
    if not submissions:
        raise FileNotFoundError(f"grade: no .ipynb submissions under {', '.join(map(str, paths))}")
    grades = [grade_notebook(learner, path, timeout) for learner, path in tqdm(submissions, desc="grading", disable=not progress)]
    out_csv = Path(out_csv)
    with atomic_write(out_csv) as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for g in grades:
            writer.writerow({"learner": g.learner, "exercise": g.exercise, "passed": g.passed, "total": g.total,
                             "score": g.score, "status": g.status, "detail": g.detail, "file": g.file})
    summary: dict[str, dict] = {}
    for g in grades:
        entry = summary.setdefault(g.learner, {"exercises": 0, "score": 0.0, "statuses": {}})
        entry["exercises"] += 1
        entry["score"] = round(entry["score"] + g.score, 4)
        entry["statuses"][g.status] = entry["statuses"].get(g.status, 0) + 1
    with atomic_write(out_csv.with_name(out_csv.stem + "_summary.json")) as handle:
        json.dump(summary, handle, indent=1)
    return grades
