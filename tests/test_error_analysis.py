"""lessonlib.evaluation.error_analysis: first relevant rank (trec_eval's order), buckets, per-stage rows."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation import error_analysis as ea
from lessonlib.data import Dataset
from lessonlib.evaluation.metrics import evaluate


def test_first_relevant_rank_follows_trec_eval_ties_and_agrees_with_mrr():
    qrels = {"q": {"b": 1, "c": 0}, "none": {"z": 1}}
    run = {"q": {"a": 1.0, "b": 1.0, "c": 2.0}, "none": {"a": 1.0}}  # tie a/b: doc id descending puts b first
    assert ea.first_relevant_rank(qrels, run, "q") == 2
    assert ea.first_relevant_rank(qrels, run, "none") is None
    rng = np.random.default_rng(0)
    for i in range(20):
        r = {f"d{j}": float(rng.integers(0, 4)) for j in range(12)}
        qr = {f"d{j}": int(rng.integers(0, 2)) for j in rng.choice(15, 3, replace=False)}
        rank = ea.first_relevant_rank({"q": qr}, {"q": r}, "q")
        mrr = evaluate({"q": qr}, {"q": r}, "mrr")["mrr"] if any(v > 0 for v in qr.values()) else 0.0
        assert mrr == pytest.approx(1 / rank if rank else 0.0)


@pytest.mark.parametrize("rank,k,want", [(1, 20, "rank 1"), (2, 20, "rank 2-10"), (10, 20, "rank 2-10"),
                                         (11, 20, "retrieved, > 10"), (21, 20, "not retrieved"),
                                         (None, 20, "not retrieved"), (5, 3, "not retrieved")])
def test_bucket_boundaries(rank, k, want):
    assert ea.bucket(rank, k) == want


def test_bucket_counts_cover_every_query_once():
    qrels = {"a": {"x": 1}, "b": {"y": 1}, "c": {"z": 1}}
    runs = {"s": {"a": {"x": 2.0, "w": 1.0}, "b": {"w": 2.0, "y": 1.0}, "c": {"w": 1.0}}}
    counts = ea.bucket_counts(qrels, runs, ["a", "b", "c"], k=10)["s"]
    assert counts == {"rank 1": 1, "rank 2-10": 1, "retrieved, > 10": 0, "not retrieved": 1}
    with pytest.raises(ValueError, match="k=0"):
        ea.bucket(1, 0)


def test_stage_rows_mark_judged_documents():
    ds = Dataset("t", {"x": {"title": "X paper", "text": ""}, "y": {"title": "Y paper", "text": ""}, "z": {"title": "", "text": "z text"}},
                 {"q": "query"}, {"q": {"x": 1, "y": 0}})
    rows = ea.stage_rows(ds, {"first": {"q": {"y": 3.0, "z": 2.0, "x": 1.0}}}, "q", n=3)
    assert rows == [{"stage": "first", "rank": 3, "top": ["✗ Y paper", "· z text", "✓ X paper"]}]

