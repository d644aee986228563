"""lessonlib.retrieval.adaptive: confidence features, threshold policies, trade-off curves, oracle, learned policy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessonlib.retrieval import adaptive, cascade
from lessonlib.workbook.checks.ex17_adaptive_rerank import cases as _adaptive_cases
from lessonlib.evaluation.metrics import evaluate


def _random_run(rng, n_queries=12, n_docs=15):
    return {f"q{i}": {f"d{j}": float(s) for j, s in enumerate(rng.gamma(2.0, 2.0, n_docs))} for i in range(n_queries)}


def test_margin_is_best_minus_second_best_and_inf_without_two_documents():
    run = {"q": {"a": 3.0, "b": 7.5, "c": 1.0}, "tie": {"a": 2.0, "b": 2.0}, "one": {"a": 4.0}, "none": {}}
    m = cascade.score_margin(run)
    assert m["q"] == pytest.approx(4.5) and m["tie"] == 0.0
    assert math.isinf(m["one"]) and math.isinf(m["none"])


def test_normalised_margin_is_invariant_to_the_score_scale_and_shift():
    rng = np.random.default_rng(0)
    run = _random_run(rng)
    scaled = {q: {d: 7.0 * s - 3.0 for d, s in docs.items()} for q, docs in run.items()}
    a, b = adaptive.normalised_margin(run, k=10), adaptive.normalised_margin(scaled, k=10)
    for q in run:
        top = np.sort(list(run[q].values()))[::-1][:10]
        assert a[q] == pytest.approx((top[0] - top[1]) / top.std())  # by hand
        assert b[q] == pytest.approx(a[q])


def test_peakedness_is_kl_to_uniform_of_the_softmax_of_z_scores():
    run = {"q": {"a": 4.0, "b": 1.0, "c": 0.5, "d": 0.0}, "flat": {"a": 1.0, "b": 1.0, "c": 1.0}}
    got = adaptive.peakedness(run, k=3)
    top = np.array([4.0, 1.0, 0.5])
    z = (top - top.mean()) / top.std()
    p = np.exp(z) / np.exp(z).sum()
    kl = float(np.sum(p * np.log(p * 3)))  # KL(p || uniform over 3)
    assert got["q"] == pytest.approx(kl)
    assert got["flat"] == pytest.approx(0.0)
    # scipy's entropy as a second reference: log k - H(p)
    scipy_stats = pytest.importorskip("scipy.stats")
    assert got["q"] == pytest.approx(math.log(3) - scipy_stats.entropy(p))


def test_agreement_counts_the_shared_top_n_documents():
    a = {"q": {"x": 5, "y": 4, "z": 3, "w": 2}, "p": {"x": 1}}
    b = {"q": {"z": 9, "y": 8, "v": 7}, "p": {}}
    got = adaptive.agreement(a, b, n=3)
    assert got == {"q": pytest.approx(2 / 3), "p": 0.0}
    assert adaptive.agreement(a, a, n=2)["q"] == 1.0


def test_decide_is_strict_and_never_reranks_infinite_confidence():
    conf = {"a": 0.0, "b": 0.5, "c": float("inf")}
    assert cascade.route(conf, 0.5) == {"a": True, "b": False, "c": False}
    assert cascade.route(conf, float("inf")) == {"a": True, "b": True, "c": False}
    assert not any(cascade.route(conf, -float("inf")).values())


@pytest.mark.parametrize("case", range(8))
def test_adaptive_rerank_matches_a_hand_written_policy_on_the_exercise_cases(case):
    """The library policy against a plain re-implementation of exercise 17's statement."""
    args = _adaptive_cases(np.random.default_rng(case))[case].kwargs
    got = adaptive.adaptive_rerank(**args)
    want, cost = {}, 0
    for q, docs in args["run"].items():
        s = sorted(docs.values(), reverse=True)
        want[q] = len(s) >= 2 and s[0] - s[1] < args["threshold"]
        cost += min(args["k"], len(docs)) if want[q] else 0
    assert got == {"rerank": want, "cost": cost}


def test_the_exercise_reference_is_the_library_policy():
    from lessonlib.workbook.checks.ex17_adaptive_rerank import adaptive_rerank_policy

    rng = np.random.default_rng(3)
    for args in (c.kwargs for c in _adaptive_cases(rng)):
        assert adaptive_rerank_policy(**args) == adaptive.adaptive_rerank(**args)


def test_combine_serves_the_reranked_list_only_where_decided():
    first = {"a": {"x": 2.0, "y": 1.0}, "b": {"x": 2.0, "y": 1.0}}
    second = {"a": {"x": 0.0, "y": 1.0}, "b": {"x": 0.0, "y": 1.0}}
    out = cascade.adaptive_run(first, second, {"a": True, "b": False})
    assert out == {"a": second["a"], "b": first["b"]}


def test_per_query_gain_and_mixture_equal_evaluating_the_combined_run():
    rng = np.random.default_rng(1)
    first = _random_run(rng)
    second = _random_run(rng)
    qrels = {q: {f"d{j}": int(rng.integers(0, 2)) for j in rng.choice(15, 4, replace=False)} for q in first}
    qids = sorted(first)
    never, gain = adaptive.per_query_gain(qrels, first, second, qids)
    decisions = {q: bool(i % 3 == 0) for i, q in enumerate(qids)}
    mixed = evaluate(qrels, cascade.adaptive_run(first, second, decisions), ["ndcg@10"])["ndcg@10"]
    mask = np.array([decisions[q] for q in qids])
    assert never.mean() + (gain * mask).mean() == pytest.approx(mixed)


def test_tradeoff_curve_goes_from_never_to_always_and_matches_decide():
    rng = np.random.default_rng(2)
    conf = rng.normal(size=30).round(1)  # ties
    conf[0] = np.inf  # a one-document query: never re-ranked
    gain = rng.normal(scale=0.1, size=30)
    curve = adaptive.tradeoff_curve(conf, gain)
    assert curve["share"][0] == 0.0 and curve["gain"][0] == 0.0
    assert curve["share"][-1] == pytest.approx(29 / 30)
    assert np.all(np.diff(curve["share"]) > 0)
    qids = [f"q{i}" for i in range(30)]
    for t, share, g in zip(curve["threshold"], curve["share"], curve["gain"]):
        d = cascade.route(dict(zip(qids, conf)), t)
        mask = np.array([d[q] for q in qids])
        assert mask.mean() == pytest.approx(share) and (gain * mask).mean() == pytest.approx(g)


def test_oracle_bounds_every_threshold_policy_at_the_same_share():
    rng = np.random.default_rng(4)
    gain = rng.normal(scale=0.1, size=40)
    oracle = adaptive.oracle_curve(gain)
    assert oracle["gain"].max() == pytest.approx(gain[gain > 0].sum() / 40)
    assert oracle["gain"][-1] == pytest.approx(gain.mean())
    for seed in range(5):
        conf = np.random.default_rng(seed).normal(size=40)
        curve = adaptive.tradeoff_curve(conf, gain)
        bound = np.interp(curve["share"], oracle["share"], oracle["gain"])  # oracle is concave: interp is a bound
        assert np.all(curve["gain"] <= bound + 1e-12)


def test_choose_threshold_maximises_gain_minus_cost_and_prefers_cheaper_ties():
    conf = np.array([0.1, 0.2, 0.3, 0.4])
    gain = np.array([0.4, 0.0, -0.1, 0.2])
    t, info = adaptive.choose_threshold(conf, gain)  # best: rerank all four (0.5/4) vs first only (0.4/4)
    assert info["gain"] == pytest.approx(0.5 / 4) and info["share"] == 1.0 and t == np.inf
    t, info = adaptive.choose_threshold(conf, gain, cost_weight=0.2)  # 0.1 - 0.05 beats 0.125 - 0.2
    assert info["share"] == 0.25 and 0.1 < t < 0.2
    t, info = adaptive.choose_threshold(conf, np.zeros(4))  # nothing to gain: re-rank nothing
    assert info["share"] == 0.0 and t == -np.inf


def test_gain_regressor_equals_ridge_on_standardised_features():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = X @ [0.3, -0.02, 1.0] + rng.normal(scale=0.05, size=50)
    reg = adaptive.GainRegressor(alpha=2.0).fit(X, y)
    Z = (X - X.mean(0)) / X.std(0)
    w = np.linalg.solve(Z.T @ Z + 2.0 * np.eye(3), Z.T @ (y - y.mean()))  # by hand
    assert np.allclose(reg.coef_, w) and reg.intercept_ == pytest.approx(y.mean())
    sklearn = pytest.importorskip("sklearn.linear_model")
    ref = sklearn.Ridge(alpha=2.0).fit(Z, y)
    assert np.allclose(reg.predict(X), ref.predict(Z))


def test_gain_regressor_clips_infinite_features_to_the_training_range():
    X = np.array([[0.0], [1.0], [2.0], [np.inf]])
    reg = adaptive.GainRegressor(alpha=0.0).fit(X, np.array([0.3, 0.2, 0.1, 0.1]))
    assert np.isfinite(reg.predict(np.array([[np.inf]]))).all()
    assert reg.predict(np.array([[np.inf]]))[0] == pytest.approx(reg.predict(np.array([[2.0]]))[0])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="k=1"):
        adaptive.peakedness({"q": {"a": 1.0}}, k=1)
    with pytest.raises(ValueError, match="cost_weight"):
        adaptive.choose_threshold([0.0], [0.0], cost_weight=-1)
    with pytest.raises(ValueError, match="unknown features"):
        adaptive.feature_matrix({"margin": {"q": 1.0}}, ["q"], ["entropy"])
    with pytest.raises(ValueError, match="call fit"):
        adaptive.GainRegressor().predict(np.zeros((1, 1)))


def test_confidence_features_names_and_agreement_of_two_runs():
    first = {"q": {"a": 3.0, "b": 1.0, "c": 0.0}, "p": {"a": 1.0, "b": 1.0}}
    feats = adaptive.confidence_features(first, k=2, agreement_of=({"q": {"a": 1, "b": 0}}, {"q": {"a": 1, "c": 0}}))
    assert set(feats) == set(adaptive.CONFIDENCE_FEATURES)
    assert feats["agreement"] == {"q": 0.5, "p": 0.0} and feats["margin"]["q"] == 2.0
    assert "agreement" not in adaptive.confidence_features(first)
