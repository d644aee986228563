"""lessonlib.retrieval.fusion: RRF, interpolation and CombSUM/CombMNZ by hand, and RRF on SciFact."""

from __future__ import annotations

import pytest

from lessonlib.retrieval.fusion import comb_mnz, comb_sum, hybrid, interpolate, normalize, rrf
from lessonlib.core.runs import rank_documents

A = {"q": {"d1": 10.0, "d2": 5.0, "d3": 1.0}}
B = {"q": {"d3": 0.9, "d4": 0.8, "d1": 0.1}}


def test_rrf_matches_the_formula():
    fused = rrf([A, B], k=60)["q"]
    assert fused["d1"] == pytest.approx(1 / 61 + 1 / 63)
    assert fused["d3"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["d2"] == pytest.approx(1 / 62)
    assert fused["d4"] == pytest.approx(1 / 62)


def test_rrf_uses_trec_eval_tie_order_and_weights():
    tied = {"q": {"a": 1.0, "b": 1.0}}  # trec_eval ranks b before a
    fused = rrf([tied], k=0)["q"]
    assert fused == {"b": 1.0, "a": 0.5}
    weighted = rrf([A, B], k=60, weights=[2.0, 0.0])["q"]
    assert rank_documents(weighted)[:3] == ["d1", "d2", "d3"]


def test_rrf_depth_limits_inputs_and_output():
    fused = rrf([A, B], depth=1)["q"]
    assert list(fused) == ["d1"] or list(fused) == ["d3"]  # both at 1/61; the other tops are cut
    assert fused[next(iter(fused))] == pytest.approx(1 / 61)


def test_normalize_minmax_and_zscore():
    assert normalize({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    z = normalize({"a": 1.0, "b": 3.0}, "zscore")
    assert z == {"a": -1.0, "b": 1.0}
    assert normalize({"a": 5.0}, "minmax") == {"a": 1.0}
    with pytest.raises(ValueError, match="method"):
        normalize({"a": 1.0}, "softmax")


def test_interpolate_by_hand_with_missing_documents_at_the_floor():
    fused = interpolate([A, B], weights=[0.5, 0.5])["q"]
    # A minmax: d1 1, d2 4/9, d3 0; B minmax: d3 1, d4 0.875, d1 0; missing -> 0
    assert fused["d1"] == pytest.approx(0.5)
    assert fused["d2"] == pytest.approx(0.5 * 4 / 9)
    assert fused["d4"] == pytest.approx(0.5 * 0.875)


def test_comb_sum_and_mnz():
    s, m = comb_sum([A, B])["q"], comb_mnz([A, B])["q"]
    assert s["d1"] == pytest.approx(1.0) and m["d1"] == pytest.approx(2.0)
    assert s["d4"] == pytest.approx(0.875) and m["d4"] == pytest.approx(0.875)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="list of runs"):
        rrf(A)
    with pytest.raises(ValueError, match="at least one run"):
        rrf([])
    with pytest.raises(ValueError, match="one weight per run"):
        rrf([A, B], weights=[1.0])


def test_queries_in_only_one_run_are_kept():
    fused = rrf([A, {"other": {"x": 1.0}}])
    assert set(fused) == {"q", "other"}


@pytest.mark.scifact
def test_rrf_of_two_bm25_variants_on_scifact_is_at_least_as_good_as_the_weaker(scifact):
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.retrieval.bm25 import BM25

    stemmed = BM25().retrieve(scifact, k=100)
    plain = BM25(stemmer=None, stopwords=None).retrieve(scifact, k=100)
    fused = hybrid(stemmed, plain, depth=100)
    scores = {name: evaluate(scifact.qrels, run, ["ndcg@10"])["ndcg@10"] for name, run in
              [("stemmed", stemmed), ("plain", plain), ("fused", fused)]}
    assert scores["fused"] >= min(scores["stemmed"], scores["plain"]) - 0.005
    assert all(len(docs) <= 100 for docs in fused.values())
    # fusing a run with itself keeps its ranking
    same = rrf([stemmed, stemmed])
    q = next(iter(stemmed))
    assert rank_documents(same[q]) == rank_documents(stemmed[q])
