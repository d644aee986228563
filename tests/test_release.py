"""`lessonlib release DIR`: the learner's folder holds every notebook and student exercise, imports and
checks without an install, and no line of any solution; a folder of someone else's files is refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lessonlib.workbook import exercises
from lessonlib.workbook.cli import main
from lessonlib.workbook.release import learner_part, write_release

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercises.sources(ROOT / "exercises" / "source")

_RETURN_NAMES = re.compile(r"^return\s+[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*$")  # return fused / return scores, ids


def _solution_regions() -> list[tuple[str, list[str]]]:
    """Every solution region's stripped non-blank lines, less trivial ones (under 12 characters, pass,
    return of bare names)."""
    regions = []
    for path in SOURCES:
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped == exercises.BEGIN:
                current = []
            elif stripped == exercises.END:
                regions.append((path.name, current))
                current = None
            elif current is not None and stripped:
                if not (len(stripped) < 12 or stripped in ("pass", "continue", "break") or _RETURN_NAMES.match(stripped)):
                    current.append(stripped)
    return regions


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "course"
    assert main(["release", str(out)]) == 0
    return out


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_the_release_holds_no_line_of_any_solution(release):
    """Outside the package: not one line of any solution region, in any file. The package is the reference
    the checks compare with (learners are invited to read it once they pass) and shares idioms with the
    solutions (`for qid, docs in run.items():`, `if mode == "maxp":`), so there a file may hold a few lines
    of a region but not 4 of them, nor half of one."""
    regions = _solution_regions()
    assert len(regions) >= len(SOURCES) and sum(len(lines) for _, lines in regions) > 5 * len(SOURCES)
    leaks = []
    for path in _files(release):
        name = path.relative_to(release).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        for source, lines in regions:
            found = [line for line in lines if line in text]
            if name.startswith("lessonlib/"):
                if len(found) >= 4 or (len(found) >= 2 and 2 * len(found) >= len(lines)):
                    leaks.append(f"{name}: {len(found)} of the {len(lines)} lines of {source}'s solution, {found}")
            else:
                leaks += [f"{name}: {line!r} (from {source})" for line in found]
    assert not leaks, "solution text in the release:\n" + "\n".join(leaks[:20])


def test_the_release_has_every_notebook_and_exercise_and_nothing_of_the_instructor(release):
    for folder in ("notebooks", "exercises/student"):
        here = sorted(p.name for p in (ROOT / folder).glob("*.ipynb"))
        there = sorted(p.name for p in (release / folder).glob("*.ipynb"))
        assert there == here and len(here) >= 17
        for name in here:
            assert (release / folder / name).read_bytes() == (ROOT / folder / name).read_bytes()
    assert {p.stem for p in (release / "exercises" / "student").glob("*.ipynb")} == {p.stem for p in SOURCES}
    for path in ("pyproject.toml", "Makefile", "README.md", "exercises/README.md", "lessonlib/__init__.py",
                 "lessonlib/workbook/checks/__init__.py", "data/sample/corpus.jsonl", "data/sample/qrels/test.tsv"):
        assert (release / path).is_file(), path
    top = {p.name for p in release.iterdir()}
    assert top <= {"notebooks", "exercises", "data", "lessonlib", "bench", "pyproject.toml", "Makefile", "README.md",
                   ".gitignore", ".lessonlib-folder", "LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"}, top
    assert [p.name for p in (release / "bench").iterdir()] == ["results"]  # the measurements, not the scripts
    makefile = (release / "Makefile").read_text()  # the learner's: no target needs the tests/ it does not ship
    assert "tests" not in makefile and "maintainer:" not in makefile and "\nworkbook: install" in makefile
    assert "\ntest-notebooks: install" in makefile and "\ntest: install" in (ROOT / "Makefile").read_text()
    assert {p.name for p in (release / "exercises").iterdir()} == {"student", "README.md"}
    assert not [p for p in _files(release) if "__pycache__" in p.parts or p.suffix == ".pyc"]
    readme, ex_readme = (release / "README.md").read_text(), (release / "exercises" / "README.md").read_text()
    assert readme.startswith("# The Neural Retrieval Workbook") and "learner:" not in readme and "learner:" not in ex_readme
    assert "For instructors" not in readme and "make test" not in readme and "## For learners" in ex_readme
    assert "For instructors" not in ex_readme and "BEGIN SOLUTION" not in ex_readme


def test_the_release_imports_and_its_student_checks_resolve_without_an_install(release, tmp_path):
    """With only the release on PYTHONPATH: lessonlib comes from it, the bundled sample is found, and every
    student notebook runs top to bottom, its check() reporting the stub (not a missing id or import)."""
    script = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        import nbformat
        import lessonlib
        from lessonlib.data.datasets import sample_dir
        release = Path(sys.argv[1]).resolve()
        assert Path(lessonlib.__file__).resolve().is_relative_to(release), lessonlib.__file__
        assert sample_dir().resolve().is_relative_to(release), sample_dir()
        statuses = {}
        for path in sorted((release / "exercises" / "student").glob("*.ipynb")):
            namespace = {}
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, str(path), "exec"), namespace)
            statuses[path.stem] = namespace["result"].status
        print(json.dumps(statuses))
    """)
    env = {**os.environ, "PYTHONPATH": str(release)}
    done = subprocess.run([sys.executable, "-c", script, str(release)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(statuses) == {p.stem for p in SOURCES}
    assert set(statuses.values()) == {"not_implemented"}, statuses


def test_a_folder_of_someone_elses_files_is_refused_and_left_alone(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    for extra in ([], ["--overwrite"]):
        assert main(["release", str(foreign), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("lessonlib release: error:") and "did not write" in err and "\n" not in err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    (tmp_path / "a_file").write_text("x")
    assert main(["release", str(tmp_path / "a_file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["release", str(tmp_path / "r"), "--root", str(tmp_path)]) == 2
    assert "not the course repository" in capsys.readouterr().err


def test_overwrite_replaces_only_a_release_lessonlib_wrote(tmp_path, capsys):
    out = tmp_path / "course"
    write_release(out)
    (out / "notebooks" / "scratch.ipynb").write_text("{}")
    assert main(["release", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "notebooks" / "scratch.ipynb").exists()
    assert main(["release", str(out), "--overwrite"]) == 0
    assert not (out / "notebooks" / "scratch.ipynb").exists() and (out / ".lessonlib-folder").is_file()
    manifest = json.loads((out / ".lessonlib-folder").read_text())["files"]
    assert "exercises/student/ex14_reciprocal_rank_fusion.ipynb" in manifest and not any("source" in n for n in manifest)


def _mini_course(tmp_path: Path) -> Path:
    """A course repository with one notebook and one exercise, to break on purpose."""
    root = tmp_path / "repo"
    (root / "lessonlib").mkdir(parents=True)
    (root / "lessonlib" / "__init__.py").write_text("")
    for name in ("pyproject.toml", "README.md", "exercises/README.md", "notebooks/00_setup_and_data.ipynb",
                 "exercises/source/ex14_reciprocal_rank_fusion.py", "exercises/student/ex14_reciprocal_rank_fusion.ipynb"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    return root


def test_a_stale_student_notebook_or_solution_text_is_refused(tmp_path):
    root = _mini_course(tmp_path)
    write_release(tmp_path / "ok", root=root)
    student = root / "exercises" / "student" / "ex14_reciprocal_rank_fusion.ipynb"
    student.write_text(student.read_text().replace("Reciprocal rank fusion", "RRF"))
    with pytest.raises(ValueError, match="out of date"):
        write_release(tmp_path / "stale", root=root)
    shutil.copy(ROOT / "exercises" / "student" / student.name, student)
    notebook = root / "notebooks" / "00_setup_and_data.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "leak", "metadata": {},
                        "source": ["fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)\n"]})
    notebook.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="holds a line of the solution in ex14"):
        write_release(tmp_path / "leak", root=root)
    shutil.copy(ROOT / "notebooks" / notebook.name, notebook)
    source = (root / "exercises" / "source" / "ex14_reciprocal_rank_fusion.py").read_text()
    (root / "lessonlib" / "helpers.py").write_text(source.split(exercises.BEGIN)[1].split(exercises.END)[0])
    with pytest.raises(ValueError, match=r"lessonlib/helpers.py: it holds 4 of the 4 lines of the solution in ex14"):
        write_release(tmp_path / "leak", root=root)
    assert not (tmp_path / "stale").exists() and not (tmp_path / "leak").exists()


def test_learner_part_takes_marker_lines_only():
    text = ("<!-- learner:start -->\n# Title\nfor all\n<!-- learner:end -->\ninstructor only\n"
            "<!-- learner:start -->\n## More\nmention `<!-- learner:end -->` in a sentence\n<!-- learner:end -->\n")
    assert learner_part(text) == "# Title\nfor all\n\n## More\nmention `<!-- learner:end -->` in a sentence\n"
    with pytest.raises(ValueError, match="no learner section"):
        learner_part("# nothing marked\n")
    with pytest.raises(ValueError, match="without a"):
        learner_part("<!-- learner:start -->\nopen\n")
    with pytest.raises(ValueError, match="without a"):
        learner_part("<!-- learner:end -->\n")


def test_without_maintainer_part_drops_the_marked_blocks_and_rejects_unbalanced_markers():
    from lessonlib.workbook.release import without_maintainer_part

    text = "a\n# maintainer:start\nb\n# maintainer:end\nc\n"
    assert without_maintainer_part(text) == "a\nc\n"
    for bad, message in (("# maintainer:start\nb\n", "without a"), ("b\n# maintainer:end\n", "without a"),
                         ("# maintainer:start\n# maintainer:start\n", "inside another")):
        with pytest.raises(ValueError, match=message):
            without_maintainer_part(bad)
