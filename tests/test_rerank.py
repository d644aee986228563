"""lessonlib.retrieval.rerank.rerank_top_k: the cascade that re-orders the top k and keeps the tail."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation.metrics import evaluate
from lessonlib.retrieval.rerank import rerank_top_k
from lessonlib.core.runs import rank_documents


def _reference(first, second, k):
    """By hand: sort the first stage, re-sort its k best by the second stage, append the rest."""
    out = {}
    for q, docs in first.items():
        ranked = sorted(docs, key=lambda d: (docs[d], d), reverse=True)
        head = sorted(ranked[:k], key=lambda d: (second[q].get(d, -np.inf), d), reverse=True)
        out[q] = head + ranked[k:]
    return out


@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_rerank_top_k_reorders_the_head_and_keeps_the_tail(k):
    rng = np.random.default_rng(k)
    first = {f"q{i}": {f"d{j}": float(rng.integers(0, 5)) for j in range(20)} for i in range(6)}  # ties
    second = {q: {d: float(rng.normal()) for d in list(docs)[:15]} for q, docs in first.items()}
    got = rerank_top_k(first, second, k)
    want = _reference(first, second, k)
    for q in first:
        assert rank_documents(got[q]) == want[q]
        assert set(got[q]) == set(first[q])


def test_rerank_top_1_changes_nothing_and_top_all_equals_the_second_stage_order():
    first = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    second = {"q": {"a": 0.0, "b": 2.0, "c": 1.0}}
    qrels = {"q": {"b": 1}}
    assert evaluate(qrels, rerank_top_k(first, second, 1), "ndcg@10") == evaluate(qrels, first, "ndcg@10")
    assert rank_documents(rerank_top_k(first, second, 3)["q"]) == ["b", "c", "a"]


def test_rerank_top_k_rejects_k_below_one():
    with pytest.raises(ValueError, match="k=0"):
        rerank_top_k({"q": {"a": 1.0}}, {}, 0)
