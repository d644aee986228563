"""`lessonlib workbook` on a folder of tiny notebooks: results collected, failures and cell timeouts
reported per notebook, the remaining notebooks still run (the default; --no-keep-going stops);
and the course's own notebooks on the bundled sample (full mode) and on a collection they were
never written for (--data, no train split)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook.cli import main


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
    _notebook(nbs, "a_ok", "from lessonlib.workbook import report\nreport.record('answer', 42)")
    _notebook(nbs, "b_fails", "raise ValueError('broken on purpose')")
    _notebook(nbs, "c_hangs", "import time\ntime.sleep(60)")
    _notebook(nbs, "d_ok", "from lessonlib.workbook import report\nreport.record('later', 7)")
    return tmp_path


def test_workbook_reports_failures_and_timeouts_and_keeps_going(folder, capsys):
    out = folder / "build"
    rc = main(["workbook", "--notebooks", str(folder / "notebooks"), "--out", str(out), "--timeout", "5", "--fast"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "[ok] a_ok.ipynb" in captured.err and "[FAILED] b_fails.ipynb" in captured.err
    assert "[TIMEOUT] c_hangs.ipynb" in captured.err, "a cell past --timeout fails its notebook, not the run"
    assert "[ok] d_ok.ipynb" in captured.err, "by default the run goes on after a timeout"
    assert "answer: 42" in captured.out and "later: 7" in captured.out
    assert "2 notebooks ok, 2 failed" in captured.out and "failed: b_fails.ipynb, c_hangs.ipynb" in captured.out
    assert "| b_fails.ipynb | FAILED |" in captured.out and "| d_ok.ipynb | ok |" in captured.out, "a summary table"
    assert json.loads((out / "results" / "a_ok.json").read_text())["answer"]["value"] == 42
    assert (out / "c_hangs.ipynb").exists(), "the partly executed notebook is written for inspection"
    assert "b_fails.ipynb: ValueError: broken on purpose" in captured.err, "the failing cell's error, in one line"
    summary = (out / "summary.md").read_text()
    assert "| c_hangs.ipynb | TIMEOUT |" in summary and "cores" in summary and "lessonlib " in summary


def test_workbook_stops_at_first_failure_with_no_keep_going(folder, capsys):
    rc = main(["workbook", "--notebooks", str(folder / "notebooks"), "--out", str(folder / "build"), "--only", "[a-c]_*",
               "--fast", "--no-keep-going"])
    captured = capsys.readouterr()
    assert rc == 1 and "[FAILED] b_fails.ipynb" in captured.err
    assert "1 notebooks ok, 1 failed" in captured.out and "c_hangs" not in captured.err


def test_workbook_rejects_a_pattern_that_matches_nothing(folder, capsys):
    assert main(["workbook", "--notebooks", str(folder / "notebooks"), "--only", "zzz*"]) == 2
    assert "matches no notebook" in capsys.readouterr().err


@pytest.mark.parametrize("flags, enabled", [([], False), (["--widgets"], True)])
def test_workbook_turns_widget_knobs_off_unless_asked(folder, capsys, flags, enabled):
    knob = folder / "knob"
    knob.mkdir()
    _notebook(knob, "k", "from lessonlib.workbook import report, sliders\nreport.record('widgets', sliders.widgets_enabled())\n"
                         "def draw(x):\n    report.record('x', x)\nsliders.interact(draw, x=(0, 10))")
    assert main(["workbook", "--notebooks", str(knob), "--out", str(folder / "build"), "--fast", *flags]) == 0
    assert f"widgets: {enabled}" in capsys.readouterr().out
    assert json.loads((folder / "build" / "results" / "k.json").read_text())["x"]["value"] == 5, "the knob ran once at its default"


# ----------------------------------------------------------------------------- the course's notebooks
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _foreign_collection(folder: Path) -> Path:
    """A tiny BEIR folder unlike SciFact and the sample: other ids, other domain, no train split."""
    rivers = ["Ostra", "Velm", "Karsa", "Dunel", "Permo", "Tisk", "Alvar", "Grenn", "Lusk", "Morva", "Sodd", "Ferro"]
    facts = ["floods every spring and drowns the water meadows", "freezes solid for three months each winter",
             "carries barges of timber down to the estuary", "runs dry in late summer when the dams close"]
    (folder / "qrels").mkdir(parents=True)
    docs, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for i, river in enumerate(rivers):
        fact = facts[i % len(facts)]
        docs.append({"_id": f"R/{river.lower()}:{i}", "title": f"The river {river}",
                     "text": f"The {river} {fact}. Anglers on the {river} report pike and perch, and the towpath "
                             f"along its banks is {3 + i} kilometres long, with a ferry near the old mill."})
        queries.append({"_id": f"ask-{i:03d}", "text": f"which river {fact.split(' and ')[0]} ({river})"})
        qrels.append(f"ask-{i:03d}\tR/{river.lower()}:{i}\t1")
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return folder


@pytest.fixture()
def course_env(tmp_path, monkeypatch):
    for name in ("LESSONLIB_FAST", "LESSONLIB_DATASET", "LESSONLIB_RESULTS", "LESSONLIB_WIDGETS"):
        monkeypatch.delenv(name, raising=False)  # the runner sets them; monkeypatch restores them afterwards
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.slow
def test_a_training_free_notebook_runs_in_full_mode_on_the_bundled_sample(course_env, capsys):
    out = course_env / "build"
    rc = main(["workbook", "--notebooks", str(NOTEBOOKS), "--only", "00_*", "--data", "sample", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-2000:]
    assert "full mode" in captured.err and "Workbook sample collection" in captured.err
    assert "1 notebooks ok, 0 failed" in captured.out
    executed = nbformat.read(out / "00_setup_and_data.ipynb", as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.slow
def test_a_notebook_runs_through_data_on_a_collection_it_was_never_written_for(course_env, capsys):
    foreign = _foreign_collection(course_env / "rivers")
    out = course_env / "build"
    rc = main(["workbook", "--notebooks", str(NOTEBOOKS), "--only", "00_*", "--fast", "--data", str(foreign), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-2000:]
    assert "rivers, test split" in captured.err and "no train split in this collection" in captured.err
    executed = nbformat.read(out / "00_setup_and_data.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "rivers" in text, "the notebook says which data it used"


def test_a_bad_data_argument_is_one_line_before_any_notebook_runs(course_env, capsys):
    assert main(["workbook", "--notebooks", str(NOTEBOOKS), "--data", str(course_env / "nowhere"), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset" in err and "[ok]" not in err and len(err.strip().splitlines()) == 1


def test_bench_lines_reads_the_result_rows_of_a_bench_file():
    from lessonlib.workbook import report

    rows = report.bench_lines("dual_cuda.txt")
    assert {"bm25", "zeroshot", "ref"} <= set(rows)
    assert all(0.0 <= float(line.split()[2]) <= 1.0 for line in rows.values())
    assert not any(name.startswith(("#", "val")) for name in rows)
    assert report.bench_lines("no-such-file.txt") == {}
    assert report.bench_file("dual_cuda.txt").parent.name == "results"


def test_cite_reads_one_figure_of_a_bench_file_and_fails_in_one_line(tmp_path, monkeypatch):
    from lessonlib.workbook import report

    (tmp_path / "t.txt").write_text("# header\nbest    nDCG@10 0.7860  R@100 0.9577\n\n| first stage | CE alone | gain |\n"
                                    "| --- | --- | --- |\n| bm25 | 0.7370 | +0.0577 |\n| hybrid | 0.7477 | +0.0429 |\n\nlatency\n"
                                    "| first stage | ms |\n| --- | --- |\n| bm25 | 448 |\n", encoding="utf-8")
    monkeypatch.setattr(report, "bench_file", lambda name: tmp_path / name)
    assert report.cite("t.txt", "hybrid", "CE alone") == "0.7477" and report.cite("t.txt", "bm25", "gain") == "+0.0577"
    assert report.cite("t.txt", "best") == "0.7860"
    assert report.cite("t.txt", "bm25", "ms") == "448"  # a later table: the first row of that name with the column
    assert len(report.bench_tables("t.txt")) == 2 and report.bench_table("t.txt") == report.bench_tables("t.txt")[0]
    for args, message in ((("t.txt", "dense", "CE alone"), "has a row 'dense'"), (("t.txt", "bm25", "R@10"), "column 'R@10'"),
                          (("t.txt", "worst"), "no result row 'worst'"), (("gone.txt", "bm25"), "gone.txt does not exist")):
        with pytest.raises(LookupError, match=message) as err:
            report.cite(*args)
        assert "\n" not in str(err.value)


def test_cite_reads_the_committed_headline_as_the_bench_wrote_it():
    from lessonlib.workbook import report

    line = next(line for line in report.bench_file("cross_h100.txt").read_text().splitlines() if line.startswith("| hybrid |"))
    assert report.cite("cross_h100.txt", "hybrid", "CE + alpha*first (alpha from val)") == line.split("|")[4].strip()


def test_bench_table_reads_the_first_markdown_table_of_a_bench_file():
    from lessonlib.workbook import report

    rows = report.bench_table("cross_h200_ft_seeds.txt")
    assert [r["seed"] for r in rows] == ["s0", "s1", "s2", "s3", "mean"]
    seeds = [float(r["CE+interp nDCG@10"]) for r in rows[:4]]
    assert abs(sum(seeds) / 4 - float(rows[4]["CE+interp nDCG@10"])) < 1e-4  # the bench's mean row is the mean of its seeds
    assert report.bench_table("no-such-file.txt") == []


def test_cite_match_reads_a_figure_outside_a_table_and_fails_in_one_line(tmp_path, monkeypatch):
    from lessonlib.workbook import report

    assert report.cite_match("cross_h100.txt", r"encoded \d+ docs in ([\d.]+)s on cuda") == "2.9"
    assert report.cite_match("cross_h100.txt", r"CE (\d+) pairs/s") == "1803"
    with pytest.raises(LookupError, match="no line of bench/results/cross_h100.txt matches"):
        report.cite_match("cross_h100.txt", r"never written (\d+)")
    with pytest.raises(LookupError, match="does not exist"):
        report.cite_match("nothing_here.txt", r"(\d+)")


def test_a_table_without_its_own_header_continues_the_columns_before_it(tmp_path, monkeypatch):
    from lessonlib.workbook import report

    assert report.cite("cross_recipe_h200.txt", "3 negatives, 1600 titles", "CE alone") == "0.6061"  # a later run's rows
    (tmp_path / "t.txt").write_text("| variant | CE alone |\n| --- | --- |\n| a | 0.1 |\n\n# a second run\n| b | 0.2 |\n"
                                    "\n| other | x | y |\n| --- | --- | --- |\n| c | 3 | 4 |\n\n| d | 0.3 |\n")
    monkeypatch.setattr(report, "bench_file", lambda name: tmp_path / name)
    assert report.bench_tables("t.txt") == [[{"variant": "a", "CE alone": "0.1"}], [{"variant": "b", "CE alone": "0.2"}],
                                            [{"other": "c", "x": "3", "y": "4"}], [{"variant": "d", "CE alone": "0.3"}]]
    assert report.cite("t.txt", "b", "CE alone") == "0.2"
