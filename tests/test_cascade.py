"""lessonlib.retrieval.cascade: stage order and costs by hand, scorers against hand z-scores, routing
against exercise 17's reference policy, and the routing curve against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessonlib.retrieval.cascade import (
    Stage,
    adaptive_run,
    cascade,
    dense_scorer,
    fused_scorer,
    route,
    routing_curve,
    run_scorer,
    score_margin,
    threshold_for_share,
)
from lessonlib.workbook.checks.ex17_adaptive_rerank import adaptive_rerank_policy
from lessonlib.evaluation.metrics import evaluate
from lessonlib.core.runs import rank_documents

FIRST = {"q1": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}, "q2": {"x": 1.0, "y": 2.0}}
ALPHA = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "x": 1, "y": 2}


def test_cascade_orders_deeper_stages_first_and_counts_costs():
    calls = []

    def by_letter(q, docs):  # later letters win
        calls.append(list(docs))
        return [ALPHA[d] for d in docs]

    def reverse(q, docs):  # earlier letters win
        return [-ALPHA[d] for d in docs]

    res = cascade(FIRST, [Stage("s1", by_letter, depth=4), Stage("s2", reverse, depth=2)], first_name="bm25")
    # q1: s1 sees a..d (top 4 of FIRST), ranks d c b a; s2 sees d, c and ranks c d;
    # then the rest of s1's list (b a), then what stage 0 alone saw (e)
    assert rank_documents(res.run["q1"]) == ["c", "d", "b", "a", "e"]
    # q2: s1 sees y x -> y x; s2 sees y, x -> x y
    assert rank_documents(res.run["q2"]) == ["x", "y"]
    assert calls[0] == ["a", "b", "c", "d"]
    assert res.docs_scored == {"bm25": 7, "s1": 6, "s2": 4}
    assert res.costs()["s2"]["docs/query"] == 2.0
    assert set(res.seconds) == {"bm25", "s1", "s2"}
    assert rank_documents(res.prefix_run("s1")["q1"]) == ["d", "c", "b", "a", "e"]
    assert rank_documents(res.prefix_run("bm25")["q1"]) == ["a", "b", "c", "d", "e"]


def test_cascade_rejects_bad_stages():
    with pytest.raises(ValueError, match="distinct"):
        cascade(FIRST, [Stage("x", lambda q, d: [0] * len(d), 2), Stage("x", lambda q, d: [0] * len(d), 1)])
    with pytest.raises(ValueError, match="returned"):
        cascade(FIRST, [Stage("bad", lambda q, d: [0.0], 3)])
    with pytest.raises(ValueError, match="depth"):
        Stage("s", lambda q, d: d, 0)


def test_scorers_match_hand_computation():
    bm = run_scorer({"q": {"a": 3.0, "b": 1.0}})
    assert bm("q", ["a", "b", "z"]) == [3.0, 1.0, 1.0]  # missing doc: the query's minimum
    vecs = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    dense = dense_scorer({"q": np.array([0.6, 0.8])}, vecs, {"a": 0, "b": 1, "z": 2})
    np.testing.assert_allclose(dense("q", ["a", "b", "z"]), [0.6, 0.8, 1.0])
    fused = fused_scorer([bm, dense], [0.25, 0.75])("q", ["a", "b", "z"])

    def z(v):
        v = np.asarray(v, float)
        return (v - v.mean()) / v.std()

    np.testing.assert_allclose(fused, 0.25 * z([3, 1, 1]) + 0.75 * z([0.6, 0.8, 1.0]))
    with pytest.raises(ValueError, match="one weight per scorer"):
        fused_scorer([bm], [1.0, 2.0])


def test_score_margin_and_route_agree_with_exercise_reference():
    rng = np.random.default_rng(0)
    for trial in range(20):
        run = {f"q{i}": {f"d{j}": float(np.round(rng.normal(), 1)) for j in range(int(rng.integers(0, 5)))}
               for i in range(15)}
        for threshold in (0.0, 0.1, 0.5, 2.0, math.inf):
            ref = adaptive_rerank_policy(run, threshold, k=3)["rerank"]
            assert route(score_margin(run), threshold) == ref
    assert score_margin({"q": {"a": 2.0, "b": 0.5, "c": 0.0}}) == {"q": 1.5}
    assert score_margin({"q": {"a": 1.0}}) == {"q": math.inf}


def test_threshold_for_share_routes_that_share():
    margins = {f"q{i}": m for i, m in enumerate([0.5, 0.1, 0.9, 0.3, 0.7, math.inf])}
    for share, n in [(0.0, 0), (1 / 6, 1), (0.5, 3), (5 / 6, 5), (1.0, 5)]:  # inf: never routed
        t = threshold_for_share(margins, share)
        assert sum(route(margins, t).values()) == n
    with pytest.raises(ValueError, match="share"):
        threshold_for_share(margins, 1.5)


def test_adaptive_run_takes_each_query_from_the_chosen_run():
    cheap = {"q1": {"a": 1.0}, "q2": {"b": 1.0}}
    dear = {"q1": {"c": 1.0}, "q2": {"d": 1.0}}
    assert adaptive_run(cheap, dear, {"q1": True, "q2": False}) == {"q1": {"c": 1.0}, "q2": {"b": 1.0}}


def test_routing_curve_equals_brute_force_and_brackets():
    rng = np.random.default_rng(1)
    docs = [f"d{j}" for j in range(8)]
    qrels = {f"q{i}": {d: int(rng.integers(0, 3)) for d in rng.choice(docs, 3, replace=False)} for i in range(12)}
    cheap = {q: {d: float(rng.normal()) for d in docs} for q in qrels}
    dear = {q: {d: float(rng.normal()) for d in docs} for q in qrels}
    margins = score_margin(cheap)
    curve = routing_curve(cheap, dear, margins, qrels)
    for i in range(len(qrels) + 1):
        share = i / len(qrels)
        routed = route(margins, threshold_for_share(margins, share))
        want = evaluate(qrels, adaptive_run(cheap, dear, routed), ["ndcg@10"])["ndcg@10"]
        assert curve.value[i] == pytest.approx(want)
    assert curve.value[0] == pytest.approx(evaluate(qrels, cheap, ["ndcg@10"])["ndcg@10"])
    assert curve.value[-1] == pytest.approx(evaluate(qrels, dear, ["ndcg@10"])["ndcg@10"])
    assert curve.random[0] == pytest.approx(curve.value[0]) and curve.random[-1] == pytest.approx(curve.value[-1])
    assert curve.oracle_value >= curve.value.max() - 1e-12


def test_drop_below_stops_confidently_irrelevant_candidates_early():
    seen = []

    def dear(q, docs):
        seen.extend(docs)
        return [len(d) for d in docs]

    first = {"q": {"a": 3.0, "bb": 2.0, "ccc": -1.0, "dddd": -2.0}}
    res = cascade(first, [Stage("dear", dear, depth=10)], drop_below=0.0)
    assert sorted(seen) == ["a", "bb"], "only candidates scoring >= 0 at stage 0 reach the dear stage"
    assert list(res.run["q"]) == ["bb", "a", "ccc", "dddd"], "survivors by the dear stage, the dropped below in stage-0 order"
    assert res.docs_scored["dear"] == 2
    none = cascade({"q": {"a": -1.0}}, [Stage("s1", dear, depth=1), Stage("s2", dear, depth=1)], drop_below=0.0)
    assert none.stage_runs["s1"]["q"] == none.stage_runs["s2"]["q"] == {} and list(none.run["q"]) == ["a"]
