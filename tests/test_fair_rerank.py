"""Fairness of exposure and FA*IR (lessonlib.retrieval.fair)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lessonlib.core.runs import rank_documents
from lessonlib.evaluation.metrics import evaluate
from lessonlib.retrieval import fair as F


def _inverse_binom_cdf(alpha: float, n: int, p: float) -> int:
    """Reference: the smallest m with P(X <= m) >= alpha, X ~ Binomial(n, p), from math.comb."""
    cdf = 0.0
    for m in range(n + 1):
        cdf += math.comb(n, m) * p**m * (1 - p) ** (n - m)
        if cdf >= alpha - 1e-12:
            return m
    return n


@pytest.mark.parametrize("p,alpha", [(0.5, 0.1), (0.3, 0.1), (0.7, 0.05), (0.5, 0.5)])
def test_minimum_table_is_the_inverse_binomial_cdf(p, alpha):
    assert F.fair_minimums(12, p, alpha).tolist() == [_inverse_binom_cdf(alpha, i, p) for i in range(1, 13)]


def test_minimum_table_of_the_paper():
    # FA*IR (Zehlike et al. 2017), p = 0.5, alpha = 0.1, unadjusted: 0 0 0 1 1 1 2 2 3 3
    assert F.fair_minimums(10, 0.5, 0.1).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]


def test_position_exposure():
    assert F.position_exposure(3) == pytest.approx([1.0, 1 / math.log2(3), 0.5])


def _random_case(rng, n=12):
    scores = {f"d{i:02d}": float(s) for i, s in enumerate(rng.normal(size=n))}
    protected = {d for d in scores if rng.random() < 0.4}
    return scores, protected


def test_p_zero_keeps_the_ranking():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores, protected = _random_case(rng)
        assert F.fa_ir(scores, protected, p=0.0) == rank_documents(scores)


def test_every_prefix_meets_the_table_and_groups_keep_their_order():
    rng = np.random.default_rng(1)
    for p in (0.3, 0.5, 0.8):
        for _ in range(30):
            scores, protected = _random_case(rng)
            out = F.fa_ir(scores, protected, p=p, alpha=0.1)
            assert sorted(out) == sorted(scores)
            need = F.fair_minimums(len(out), p, 0.1)
            n_prot = np.cumsum([d in protected for d in out])
            left = len(protected)
            assert all(n_prot[i] >= min(need[i], left) for i in range(len(out)))
            order = rank_documents(scores)
            assert [d for d in out if d in protected] == [d for d in order if d in protected]
            assert [d for d in out if d not in protected] == [d for d in order if d not in protected]


def test_protected_document_moves_up_only_as_far_as_needed():
    scores = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}
    # p = 0.5, alpha = 0.5: m = 0, 1, 1, 2, 2 -> the best protected document ("d") takes rank 2, "e" rank 4
    assert F.fa_ir(scores, {"d", "e"}, p=0.5, alpha=0.5) == ["a", "d", "b", "e", "c"]
    assert F.fa_ir(scores, {"d", "e"}, p=0.5, alpha=0.5, k=3) == ["a", "d", "b"]


def test_exposure_disparity():
    groups = {"a": 1, "b": 0, "c": 1, "d": 0}
    run = {"q": {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}, "only_one_group": {"a": 1.0, "c": 0.5}}
    v = F.position_exposure(4)
    d = F.exposure_disparity(run, groups)
    assert list(d) == ["q"]
    assert d["q"] == pytest.approx((v[0] + v[2]) / 2 - (v[1] + v[3]) / 2)
    assert F.exposure_disparity(run, groups, a=0, b=1)["q"] == pytest.approx(-d["q"])
    with pytest.raises(ValueError):
        F.exposure_by_group(["x"], groups)


def test_fair_rerank_reduces_disparity_and_curve_starts_at_the_input():
    rng = np.random.default_rng(2)
    groups, run, qrels = {}, {}, {}
    for q in range(30):
        docs = {f"q{q}d{i}": float(10 - i) for i in range(10)}
        for i, d in enumerate(docs):
            groups[d] = int(i >= 5)  # group 1 always ranked below group 0
        run[f"q{q}"] = docs
        qrels[f"q{q}"] = {f"q{q}d{int(rng.integers(10))}": 1}
    curve = F.fairness_curve(run, groups, qrels, protected=1, ps=[0.0, 0.3, 0.5, 0.7])


    assert curve[0]["ndcg@10"] == pytest.approx(evaluate(qrels, run, ["ndcg@10"])["ndcg@10"])
    disp = [r["disparity"] for r in curve]
    assert disp[0] < 0 and all(b >= a - 1e-12 for a, b in itertools.pairwise(disp))
    assert abs(disp[2]) < abs(disp[0])


def test_choose_weight():
    curve = [{"p": 0.0, "ndcg@10": 0.70, "disparity": -0.2}, {"p": 0.3, "ndcg@10": 0.695, "disparity": -0.1},
             {"p": 0.5, "ndcg@10": 0.60, "disparity": 0.0}, {"p": 0.7, "ndcg@10": 0.691, "disparity": 0.1}]
    assert F.choose_weight(curve, max_loss=0.01) == 0.3   # |-0.1| = |0.1|: the smaller p
    assert F.choose_weight(curve, max_loss=0.2) == 0.5
    assert F.choose_weight(curve, max_loss=0.0) == 0.0
    with pytest.raises(ValueError):
        F.choose_weight([])


def test_length_groups():
    g, cut = F.length_groups({"a": "one two", "b": "one two three", "c": "one two three four five"})
    assert cut == 3 and g == {"a": 0, "b": 0, "c": 1}
    assert F.length_groups({"a": "x y"}, threshold=1)[0] == {"a": 1}


@pytest.mark.parametrize("call", [lambda: F.fair_minimums(3, 1.5), lambda: F.fair_minimums(3, 0.5, alpha=0.0),
                                  lambda: F.length_groups({}), lambda: F.position_exposure(-1)])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
