"""`lessonlib train-cross` and `lessonlib rerank` through lessonlib.workbook.cli.main (fast mode, bundled sample)."""

from __future__ import annotations

import pytest

from lessonlib.workbook.cli import main


@pytest.fixture(scope="module")
def sample_path():
    from lessonlib.data import load_dataset

    try:
        ds = load_dataset("sample", "test")
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"bundled sample not available: {exc}")
    return "sample", ds


def test_train_cross_then_rerank(tmp_path, sample_path, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    from lessonlib.cross.data import bm25_run
    from lessonlib.data import load_dataset, read_run, write_run

    monkeypatch.setenv("LESSONLIB_FAST", "1")
    name, ds = sample_path
    split = "train" if _has_split(name, "train") else "test"
    out = tmp_path / "ce"
    assert main(["train-cross", "--data", name, "--split", split, "--out", str(out), "--negatives", "3",
                 "--batch-size", "2", "--device", "cpu"]) == 0
    assert AutoModelForSequenceClassification.from_pretrained(out).config.num_labels == 1
    run = bm25_run(ds, ds.queries, k=10)
    write_run(run, tmp_path / "bm25.trec")
    assert main(["rerank", "--data", name, "--run", str(tmp_path / "bm25.trec"), "--model", str(out), "--k", "5",
                 "--out", str(tmp_path / "ce.trec"), "--device", "cpu"]) == 0
    reranked = read_run(tmp_path / "ce.trec")
    assert reranked and all(len(v) <= 5 for v in reranked.values())
    assert set(reranked) <= set(load_dataset(name, "test").queries)


def _has_split(name, split):
    from lessonlib.data import load_dataset

    try:
        load_dataset(name, split)
        return True
    except (FileNotFoundError, ValueError):
        return False


def test_rerank_errors_are_one_line(tmp_path, sample_path, capsys):
    name, ds = sample_path
    bad = tmp_path / "bad.trec"
    bad.write_text(f"{next(iter(ds.queries))} Q0 NO_SUCH_DOC 1 1.0 x\n")
    code = main(["rerank", "--data", name, "--run", str(bad), "--model", "sentence-transformers/all-MiniLM-L6-v2",
                 "--out", str(tmp_path / "o.trec"), "--device", "cpu"])
    assert code == 2
    assert "NO_SUCH_DOC" in capsys.readouterr().err
    assert main(["rerank", "--data", name, "--run", str(tmp_path / "missing.trec"), "--model", "x",
                 "--out", str(tmp_path / "o.trec")]) == 2
    assert main(["train-cross", "--data", name, "--out", str(tmp_path / "m"), "--loss", "nope"]) == 2


def test_rerank_loads_a_pooled_model_as_pooled(tmp_path, sample_path):
    """A folder saved by PooledCrossEncoder re-ranks with its own scoring rule, not a fresh [CLS] head."""
    import numpy as np

    from lessonlib.cross.data import bm25_run
    from lessonlib.cross.pooled import PooledCrossEncoder
    from lessonlib.data import read_run, write_run

    name, ds = sample_path
    ce = PooledCrossEncoder(device="cpu", max_length=128)  # overflow "maxp", as the CLI loads it
    ce.save(tmp_path / "pooled")
    q = sorted(ds.queries)[0]
    write_run(bm25_run(ds, {q: ds.queries[q]}, k=4), tmp_path / "bm25.trec")
    assert main(["rerank", "--data", name, "--run", str(tmp_path / "bm25.trec"), "--model", str(tmp_path / "pooled"),
                 "--k", "4", "--max-length", "128", "--out", str(tmp_path / "o.trec"), "--device", "cpu"]) == 0
    got = read_run(tmp_path / "o.trec")[q]
    docs = sorted(got)
    np.testing.assert_allclose([got[d] for d in docs], ce.score(ds.queries[q], [ds.doc_text(d) for d in docs]), atol=1e-3)
