"""`lessonlib exercises export --format nbgrader DIR`: nbgrader's source layout and cell metadata, checked
with nbgrader itself: generate_assignment strips every solution, and autograde gives the instructor's
solutions full points and the blank release 0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook import exercises
from lessonlib.workbook.cli import main
from lessonlib.workbook.nbgrader import export_nbgrader

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercises.sources(ROOT / "exercises" / "source")
ASSIGNMENT = "neural_retrieval"
HIDDEN_SEED = 918273645
AUTOGRADED = ("ex05_ndcg_recall", "ex09_merge_shards", "ex14_reciprocal_rank_fusion")  # numpy-only: quick kernels


def _nbgrader(course: Path, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """Run nbgrader in the course folder with this interpreter; its kernels import this checkout's lessonlib."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # alembic
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-3000:]
    return done


def _solution_lines(path: Path) -> list[str]:
    lines, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped in (exercises.BEGIN, exercises.END):
            inside = stripped == exercises.BEGIN
        elif inside and len(stripped) >= 12:
            lines.append(stripped)
    return lines


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nbgrader") / "course"
    assert main(["exercises", "export", "--format", "nbgrader", str(out), "--points", "2",
                 "--seed", str(HIDDEN_SEED), "--source", str(ROOT / "exercises" / "source")]) == 0
    return out


def test_the_export_is_nbgraders_source_layout_with_its_cell_metadata(course):
    folder = course / "source" / ASSIGNMENT
    assert sorted(p.stem for p in folder.glob("*.ipynb")) == [p.stem for p in SOURCES]
    for path in SOURCES:
        src = exercises.parse(path)
        nb = nbformat.read(folder / f"{path.stem}.ipynb", as_version=4)
        nbformat.validate(nb)
        graded = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
        assert len(graded) == sum("nbgrader" in c.metadata for c in nb.cells), "grade ids must be unique"
        for cell in graded.values():
            meta = cell.metadata["nbgrader"]
            assert meta["schema_version"] == 3 and set(meta) >= {"grade", "solution", "locked", "grade_id"}
        solutions = [c for c in graded.values() if c.metadata["nbgrader"]["solution"]]
        assert solutions and all(not c.metadata["nbgrader"]["grade"] and not c.metadata["nbgrader"]["locked"] for c in solutions)
        for cell in solutions:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        assert all(line in "\n".join(c.source for c in solutions) for line in _solution_lines(path))
        tests = [c for c in graded.values() if c.metadata["nbgrader"]["grade"]]
        assert len(tests) == 1 and tests[0] is nb.cells[-1]
        meta = tests[0].metadata["nbgrader"]
        assert meta["locked"] and not meta["solution"] and meta["points"] == 2
        assert f'check("{src.exercise}", {src.function}, verbose=True)' in tests[0].source
        assert "assert result.ok" in tests[0].source and f"seed={HIDDEN_SEED}" in tests[0].source
        assert not any("BEGIN SOLUTION" in c.source for c in nb.cells if c not in solutions)
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert Path(config.CourseDirectory.root) == course and config.CourseDirectory.course_id == ASSIGNMENT


def test_the_export_touches_only_its_assignment_folder(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("the instructor's grades")
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    one = [ROOT / "exercises" / "source" / "ex14_reciprocal_rank_fusion.py"]
    export_nbgrader(one, course, seed=1)
    assert (course / "gradebook.db").read_text() == "the instructor's grades"
    assert (course / "nbgrader_config.py").read_text() == "c = get_config()\n"  # the course's own is kept
    argv = ["exercises", "export", str(course), "--source", str(ROOT / "exercises" / "source")]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert "generate_assignment neural_retrieval" in capsys.readouterr().err
    assert len(list((course / "source" / ASSIGNMENT).glob("*.ipynb"))) == len(SOURCES)
    (course / "source" / "ps1").mkdir()
    (course / "source" / "ps1" / "problem.ipynb").write_text("{}")
    assert main([*argv, "--assignment", "ps1", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert "did not write" in err and "\n" not in err and (course / "source" / "ps1" / "problem.ipynb").exists()
    assert main([*argv, "--assignment", "bad name"]) == 2
    assert "--assignment" in capsys.readouterr().err


def test_nbgrader_generate_assignment_strips_every_solution_and_hidden_test(course):
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = course / "release" / ASSIGNMENT
    assert sorted(p.stem for p in release.glob("*.ipynb")) == [p.stem for p in SOURCES]
    assert not (release / ".lessonlib-folder").exists()
    for path in SOURCES:
        text = (release / f"{path.stem}.ipynb").read_text(encoding="utf-8")
        cells = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        assert "raise NotImplementedError()" in cells
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", str(HIDDEN_SEED)):
            assert marker not in text, (path.stem, marker)
        leaked = [line for line in _solution_lines(path) if line in cells]
        assert not leaked, (path.stem, leaked)


@pytest.mark.slow
def test_nbgrader_autograde_gives_the_solutions_full_points_and_the_blank_release_zero(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    export_nbgrader([ROOT / "exercises" / "source" / f"{name}.py" for name in AUTOGRADED], course, points=3, seed=HIDDEN_SEED)
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    for student, folder in (("solved", course / "source" / ASSIGNMENT), ("blank", course / "release" / ASSIGNMENT)):
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        for notebook in folder.glob("*.ipynb"):
            shutil.copy(notebook, target / notebook.name)
    _nbgrader(course, "autograde", ASSIGNMENT, "--force", timeout=400)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission(ASSIGNMENT, student) for student in ("solved", "blank")}
        got = {student: (s.score, s.max_score) for student, s in scores.items()}
        per_notebook = {nb.name: nb.score for nb in scores["solved"].notebooks}
    assert got == {"solved": (9.0, 9.0), "blank": (0.0, 9.0)}, got
    assert per_notebook == dict.fromkeys(AUTOGRADED, 3.0)
    graded = json.loads((course / "autograded" / "solved" / ASSIGNMENT / f"{AUTOGRADED[0]}.ipynb").read_text())
    assert f"seed={HIDDEN_SEED}" in "".join(graded["cells"][-1]["source"])  # the hidden test was put back and ran
