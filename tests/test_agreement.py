"""Rank agreement: Kendall tau-b against scipy, overlap and top-1 by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from lessonlib.evaluation.agreement import kendall_tau, rank_agreement
from lessonlib.core.runs import rank_documents


def test_kendall_tau_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 4, size=12).astype(float)  # many ties
        y = rng.normal(size=12)
        assert kendall_tau(x, y) == pytest.approx(kendalltau(x, y).statistic)


def test_kendall_tau_edge_cases():
    assert kendall_tau([1.0], [2.0]) == 1.0
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="1-D"):
        kendall_tau([1, 2], [1, 2, 3])


def test_rank_agreement_by_hand():
    a = {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}, "q2": {"x": 1.0, "y": 0.0}, "only_a": {"d": 1.0}}
    b = {"q1": {"d1": 0.9, "d2": 0.1, "d3": 0.5}, "q2": {"x": 0.0, "y": 1.0}}
    out = rank_agreement(a, b, k=2)
    # q1: pairs (d1,d2)+ (d1,d3)+ (d2,d3)- -> tau 1/3; q2: -1
    assert out["kendall_tau"] == pytest.approx((1 / 3 - 1) / 2)
    assert out["overlap@2"] == pytest.approx((1 / 2 + 1) / 2)  # q1 top-2 {d1,d2} vs {d1,d3}; q2 both docs
    assert out["top1"] == pytest.approx(0.5)
    assert out["n_queries"] == 2


def test_agreement_ranks_in_trec_evals_order():
    assert rank_documents({"b": 1.0, "a": 1.0, "c": 0.0}, 2) == ["b", "a"]  # ties: doc id descending


def test_no_common_query_is_an_error():
    with pytest.raises(ValueError, match="share no query"):
        rank_agreement({"a": {"d": 1.0}}, {"b": {"d": 1.0}})
