"""lessonlib.retrieval.routing: query features by hand, a router on separable data, budgets and routed runs."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.retrieval import routing as R
from lessonlib.retrieval.cascade import adaptive_run


def test_query_features_by_hand():
    cheap = {"q": {"a": 5.0, "b": 3.0, "c": 1.0}}
    other = {"q": {"a": 1.0, "z": 0.5, "c": 0.2}}
    X, names = R.query_features(cheap, {"q": "three word query"}, ["q"], other=other, k=3)
    s = np.array([5.0, 3.0, 1.0])
    row = dict(zip(names, X[0]))
    assert row["n_words"] == 3 and row["top1"] == 5.0 and row["margin"] == 2.0
    assert row["margin_over_std"] == pytest.approx(2.0 / (s.std() + 1e-9))
    assert row["topk_mean"] == pytest.approx(3.0) and row["overlap@k"] == pytest.approx(2 / 3)


def test_router_learns_a_separable_rule_and_respects_the_budget():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    gain = X[:, 0] * 2 - 0.1  # the expensive path gains when feature 0 is large
    router = R.Router().fit(X, gain)
    acc = ((router.predict_proba(X) > 0.5) == (gain > 0)).mean()
    assert acc > 0.9
    send = router.route(X, 0.25)
    assert send.sum() == 50 and X[send, 0].mean() > X[~send, 0].mean()
    assert router.route(X, 0.0).sum() == 0 and router.route(X, 1.0).all()
    with pytest.raises(ValueError, match="budget"):
        router.route(X, 1.5)


def test_router_with_one_class_is_constant_and_adaptive_run_mixes_runs():
    r = R.Router().fit(np.ones((4, 2)), np.zeros(4))
    assert np.all(r.predict_proba(np.ones((3, 2))) == 0.0)
    cheap, exp = {"a": {"d1": 1.0}, "b": {"d2": 1.0}}, {"a": {"d9": 2.0}, "b": {"d8": 2.0}}
    assert adaptive_run(cheap, exp, {"a": True, "b": False}) == {"a": {"d9": 2.0}, "b": {"d2": 1.0}}
