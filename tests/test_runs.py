"""The one ranking order (trec_eval's): ranked, rank_documents, truncate, checked against pytrec_eval."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from lessonlib.core.runs import rank_documents, ranked, truncate


def test_ties_break_by_doc_id_descending():
    docs = {"d1": 1.0, "d3": 2.0, "d2": 2.0, "d0": 0.5}
    assert ranked(docs) == [("d3", 2.0), ("d2", 2.0), ("d1", 1.0), ("d0", 0.5)]
    assert rank_documents(docs, 2) == ["d3", "d2"] and rank_documents({}) == []


def _tied_run_and_qrels(seed: int, n_queries: int = 40, n_docs: int = 30):
    """Runs whose scores take only 4 values (many ties at every cut) and random binary qrels."""
    rng = np.random.default_rng(seed)
    run, qrels = {}, {}
    for q in range(n_queries):
        ids = [f"doc{j:03d}" for j in rng.permutation(100)[:n_docs]]
        run[f"q{q}"] = {d: float(rng.integers(0, 4)) for d in ids}
        qrels[f"q{q}"] = {d: int(rng.random() < 0.3) for d in ids}
    return run, qrels


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_truncate_keeps_exactly_trec_evals_first_k(k):
    run, qrels = _tied_run_and_qrels(seed=k)
    measures = {f"P.{k}", f"ndcg_cut.{k}", f"recall.{k}"}
    full = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    cut = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(truncate(run, k))
    for q in run:  # the same first k documents, so every cutoff-k measure agrees query by query
        for m in (f"P_{k}", f"ndcg_cut_{k}", f"recall_{k}"):
            assert cut[q][m] == pytest.approx(full[q][m], abs=1e-12), (q, m)
    # ascending ties (the rule this replaced) would keep other documents on this run
    ascending = {q: dict(sorted(d.items(), key=lambda x: (-x[1], x[0]))[:k]) for q, d in run.items()}
    assert any(set(ascending[q]) != set(truncate(run, k)[q]) for q in run)


def test_truncate_restricts_to_given_queries_and_refuses_k_below_one():
    run = {"a": {"x": 1.0, "y": 1.0}, "b": {"z": 0.0}}
    assert truncate(run, 1, qids=["b", "missing"]) == {"b": {"z": 0.0}}
    assert truncate(run, 1) == {"a": {"y": 1.0}, "b": {"z": 0.0}}
    with pytest.raises(ValueError, match="k must be >= 1"):
        truncate(run, 0)


def test_topk_breaks_ties_at_the_cut_by_the_lower_column():
    """The k-th best score shared by several columns: the lowest columns are kept (not argpartition's pick)."""
    from lessonlib.core.runs import topk

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # 4 values: ties at every cut
    for k in (1, 5, 17, 39, 40, 60):
        vals, idx = topk(scores, k)
        want = np.array([np.lexsort((np.arange(40), -row))[:k] for row in scores])
        assert np.array_equal(idx, want) and np.array_equal(vals, np.take_along_axis(scores, want, 1))
