"""Bad input on the command line: one line on stderr, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import pytest

from lessonlib.data import read_run
from lessonlib.evaluation.metrics import evaluate
from lessonlib.workbook.cli import main


@pytest.mark.parametrize("argv", [
    ["retrieve", "--data", "sample", "--method", "bm25", "--k", "0", "--out", "r.trec"],
    ["retrieve", "--data", "sample", "--method", "bm25", "--k", "-5", "--out", "r.trec"],
    ["train-dual", "--data", "sample", "--out", "m", "--lr", "nan"],
    ["train-dual", "--data", "sample", "--out", "m", "--lr", "-1e-5"],
    ["train-dual", "--data", "sample", "--out", "m", "--batch-size", "0"],
    ["train-cross", "--data", "sample", "--out", "m", "--lr", "inf"],
    ["rerank", "--data", "sample", "--run", "r.trec", "--model", "x", "--k", "0", "--out", "o.trec"],
])
def test_bad_numbers_are_refused_when_the_arguments_are_parsed(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "nothing written"


def test_an_os_error_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["retrieve", "--data", "sample", "--method", "bm25", "--out", str(blocker / "run.trec")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) >= 1 and err[-1].startswith("lessonlib retrieve: error:") and "Traceback" not in "\n".join(err)


def test_debug_shows_the_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        main(["--debug", "retrieve", "--data", "sample", "--method", "bm25", "--out", str(blocker / "run.trec")])


def test_k_beyond_the_corpus_ranks_every_document(tmp_path, capsys):
    out = tmp_path / "r.trec"
    assert main(["retrieve", "--data", "sample", "--method", "bm25", "--k", "1000000000", "--out", str(out)]) == 0
    assert "every document is ranked" in capsys.readouterr().err
    run = read_run(out)
    assert run and max(len(d) for d in run.values()) <= 1000000000


def test_a_huge_cutoff_is_evaluated_without_allocating_it():
    qrels, run = {"q": {"a": 1, "c": 1}}, {"q": {"a": 2.0, "b": 1.0}}
    huge = evaluate(qrels, run, ["ndcg@1000000000", "p@1000000000", "recall@1000000000", "map@1000000000"])
    exact = evaluate(qrels, run, ["ndcg@1000", "recall@1000", "map@1000"])
    assert huge["ndcg@1000000000"] == exact["ndcg@1000"] and huge["recall@1000000000"] == exact["recall@1000"]
    assert huge["map@1000000000"] == exact["map@1000"] and huge["p@1000000000"] == pytest.approx(1e-9)


def test_a_corrupt_model_folder_not_saved_by_lessonlib_is_one_line(tmp_path, capsys):
    """A truncated model.safetensors in a plain folder (no manifest): safetensors' error, as one line."""
    import shutil

    from lessonlib.core.hub import resolve_model

    folder = tmp_path / "model"
    shutil.copytree(resolve_model("sentence-transformers/all-MiniLM-L6-v2"), folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 d1 1 1.0 t\n")
    code = main(["rerank", "--data", "sample", "--run", str(run), "--model", str(folder), "--out", str(tmp_path / "o.trec")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("lessonlib rerank: error:") and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "o.trec").exists()


def test_non_finite_loss_and_memory_errors_are_expected_failures():
    from lessonlib.core.trainer import NonFiniteLossError
    from lessonlib.workbook import cli

    assert cli._expected(NonFiniteLossError("loss is nan at step 3")) and cli._expected(MemoryError())
    assert cli._one_line(MemoryError()) == "out of memory"
    assert not cli._expected(AssertionError("a bug")), "a bug keeps its traceback"
