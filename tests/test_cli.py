"""`lessonlib retrieve` and `lessonlib evaluate` end to end through lessonlib.workbook.cli.main."""

from __future__ import annotations

import importlib.util
import json

import pytest

from lessonlib.workbook.cli import main


@pytest.fixture(scope="module")
def bm25_run_file(tmp_path_factory, scifact):
    out = tmp_path_factory.mktemp("runs") / "bm25.trec"
    assert main(["retrieve", "--data", "scifact", "--method", "bm25", "--k", "100", "--out", str(out)]) == 0
    return out


@pytest.mark.scifact
def test_retrieve_bm25_writes_a_trec_run(bm25_run_file, scifact):
    from lessonlib.data import read_run

    run = read_run(bm25_run_file)
    assert set(run) == set(scifact.queries)
    assert max(len(d) for d in run.values()) == 100
    first = bm25_run_file.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "lessonlib-bm25"


@pytest.mark.scifact
def test_evaluate_json_matches_the_library(bm25_run_file, scifact, capsys):
    from lessonlib.data import read_run
    from lessonlib.evaluation.metrics import evaluate

    assert main(["evaluate", "--data", "scifact", "--run", str(bm25_run_file), "--measures", "ndcg@10", "recall@100", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    expected = evaluate(scifact.qrels, read_run(bm25_run_file), ["ndcg@10", "recall@100"])
    assert out["measures"] == pytest.approx(expected, abs=1e-12)
    assert out["measures"]["ndcg@10"] > 0.65
    assert "[evaluate]" in captured.err  # progress on stderr, results alone on stdout


@pytest.mark.scifact
def test_evaluate_table_lists_each_measure(bm25_run_file, capsys):
    assert main(["evaluate", "--data", "scifact", "--run", str(bm25_run_file), "--measures", "map", "mrr@10"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["map", "mrr@10"]


@pytest.mark.skipif(importlib.util.find_spec("lessonlib.dual.encode") is None, reason="lessonlib.dual.encode not written yet")
def test_retrieve_hybrid_on_the_sample(tmp_path):
    out = tmp_path / "hybrid.trec"
    assert main(["retrieve", "--data", "sample", "--method", "hybrid", "--k", "10", "--out", str(out)]) == 0
    assert out.stat().st_size > 0


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["retrieve", "--data", "no-such-dataset", "--method", "bm25", "--out", "{tmp}/x"], "no-such-dataset"),
        (["retrieve", "--data", "sample", "--method", "bm25", "--model", "m", "--out", "{tmp}/x"], "--model"),
        (["evaluate", "--data", "sample", "--run", "{tmp}/missing.trec"], "no such file"),
        (["evaluate", "--data", "sample", "--run", "{tmp}/bad.trec"], "bad.trec"),
        (["evaluate", "--data", "sample", "--run", "{tmp}/ok.trec", "--measures", "ndcg@0"], "k must be >= 1"),
        (["evaluate", "--data", "sample", "--run", "{tmp}/ok.trec", "--measures", "bleu"], "unknown measure"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(argv, fragment, tmp_path, capsys):
    (tmp_path / "bad.trec").write_text("q1 Q0 d1 one 0.5 tag\n")
    (tmp_path / "ok.trec").write_text("q1 Q0 d1 1 0.5 tag\n")
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) >= 1 and fragment in err[-1] and err[-1].startswith("lessonlib ")
    assert sum(1 for line in err if "error" in line) == 1


def test_unknown_method_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["retrieve", "--data", "sample", "--method", "tfidf", "--out", "x"])
    assert exc.value.code != 0
