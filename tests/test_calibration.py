"""lessonlib.evaluation.calibration against scikit-learn's calibration_curve and hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation.calibration import (
    apply_temperature,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    sigmoid,
)


def test_brier_score_by_hand_and_against_sklearn():
    from sklearn.metrics import brier_score_loss

    assert brier_score([0.9, 0.2], [1, 0]) == pytest.approx((0.01 + 0.04) / 2)
    rng = np.random.default_rng(0)
    p, y = rng.random(500), rng.integers(0, 2, 500)
    assert brier_score(p, y) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_bins_match_sklearn_calibration_curve():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(1)
    p = np.concatenate([rng.random(997), [0.0, 0.1, 1.0]])  # edge values included
    y = (rng.random(1000) < p).astype(int)
    bins = reliability_bins(p, y, n_bins=10)
    acc, conf = calibration_curve(y, p, n_bins=10, strategy="uniform")
    full = bins.count > 0
    np.testing.assert_allclose(bins.accuracy[full], acc, atol=1e-12)
    np.testing.assert_allclose(bins.confidence[full], conf, atol=1e-12)
    assert bins.count.sum() == 1000


def test_ece_by_hand():
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0, 1, 1, 1])
    # bin 0: conf .1 acc .5 (2 of 4); bin 8: conf .9 acc 1 (2 of 4)
    assert expected_calibration_error(p, y, n_bins=10) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_perfectly_calibrated_sample_has_small_ece():
    rng = np.random.default_rng(2)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(p, y) < 0.01


def test_temperature_scaling_recovers_the_true_temperature_and_keeps_the_ranking():
    rng = np.random.default_rng(3)
    true_logits = rng.normal(0, 2, 10_000)
    y = (rng.random(true_logits.size) < sigmoid(true_logits)).astype(int)
    overconfident = 3.0 * true_logits  # a model whose logits are 3x too large
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(sigmoid(overconfident), y)
    after = expected_calibration_error(apply_temperature(overconfident, t), y)
    assert after < before / 3
    assert np.array_equal(np.argsort(apply_temperature(overconfident, t)), np.argsort(sigmoid(overconfident)))


def test_temperature_scaling_multiclass():
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 1, (5000, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in probs])
    assert fit_temperature(logits * 0.5, y) == pytest.approx(0.5, rel=0.15)


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier_score([1.5], [1])
    with pytest.raises(ValueError, match="0 or 1"):
        brier_score([0.5], [2])
    with pytest.raises(ValueError, match="shape"):
        brier_score([0.5, 0.5], [1])
    with pytest.raises(ValueError, match="n_bins"):
        reliability_bins([0.5], [1], n_bins=0)
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature([1.0], 0)


def test_reliability_diagram_draws_on_an_axis():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lessonlib.evaluation.calibration import reliability_diagram

    fig, ax = plt.subplots()
    bins = reliability_diagram(ax, [0.1, 0.8, 0.9], [0, 1, 1], n_bins=5, label="toy")
    assert bins.count.sum() == 3
    assert any("ECE" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)


def test_run_pairs_flattens_a_run_with_binary_labels():
    from lessonlib.evaluation.calibration import run_pairs

    run = {"q1": {"a": 2.0, "b": -1.0, "c": 0.5}, "q2": {"a": 0.1}}
    qrels = {"q1": {"a": 2, "b": 0}, "q2": {"b": 1}}  # c unjudged, q2's a unjudged
    z, y = run_pairs(run, qrels)
    np.testing.assert_array_equal(z, [2.0, -1.0, 0.5, 0.1])
    np.testing.assert_array_equal(y, [1, 0, 0, 0])


def test_platt_scaling_equals_unregularised_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from lessonlib.evaluation.calibration import apply_platt, fit_platt

    rng = np.random.default_rng(3)
    z = rng.normal(size=3000) * 2.0
    y = (rng.random(3000) < sigmoid(0.7 * z - 1.5)).astype(int)
    a, b = fit_platt(z, y)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(z[:, None], y)
    assert a == pytest.approx(lr.coef_[0, 0], abs=1e-4)
    assert b == pytest.approx(lr.intercept_[0], abs=1e-4)
    assert a == pytest.approx(0.7, abs=0.1) and b == pytest.approx(-1.5, abs=0.15)
    np.testing.assert_allclose(apply_platt(z, a, b), lr.predict_proba(z[:, None])[:, 1], atol=1e-4)


def test_platt_fit_is_the_exact_maximum_likelihood_point():
    """At the fitted (a, b) the NLL's gradient is zero to rounding, also for large and backwards logits."""
    from lessonlib.evaluation.calibration import fit_platt

    rng = np.random.default_rng(5)
    for scale, slope, bias in [(1.0, 2.5, 0.0), (10.0, 0.2, 1.0), (2.0, -1.2, 0.0), (1.5, 1.0, -3.5)]:
        z = rng.normal(size=400) * scale
        y = (rng.random(400) < sigmoid(slope * z + bias)).astype(int)
        a, b = fit_platt(z, y)
        residual = sigmoid(a * z + b) - y
        assert abs(np.mean(residual * z)) < 1e-10 and abs(np.mean(residual)) < 1e-10
        assert np.sign(a) == np.sign(slope)


def test_shifted_logits_need_a_bias_not_a_temperature():
    """Logits from a ranking loss are right up to a shift: temperature cannot fix that, Platt can."""
    from lessonlib.evaluation.calibration import apply_platt, fit_platt

    rng = np.random.default_rng(4)
    true = rng.normal(size=5000) - 2.0
    y = (rng.random(5000) < sigmoid(true)).astype(int)
    shifted = true + 3.0  # the zero point a listwise loss leaves free
    t = fit_temperature(shifted, y)
    a, b = fit_platt(shifted, y)
    ece_t = expected_calibration_error(apply_temperature(shifted, t), y)
    ece_p = expected_calibration_error(apply_platt(shifted, a, b), y)
    assert ece_p < 0.03 < ece_t
    with pytest.raises(ValueError, match="NaN"):
        fit_platt([0.0, float("nan")], [0, 1])
