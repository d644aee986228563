"""lessonlib.evaluation.significance against scipy.stats (ttest_rel, exact permutation_test, bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lessonlib.evaluation.significance import (bootstrap_interval, compare_groups, compare_paired, correlation_interval, paired_t_test,
                                              randomization_test)


def test_paired_t_test_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.random(50)
    b = a - 0.05 + 0.1 * rng.standard_normal(50)
    ours, ref = paired_t_test(a, b), stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_exact_randomization_matches_scipy_permutation_test():
    rng = np.random.default_rng(1)
    a, b = rng.random(10), rng.random(10)
    ours = randomization_test(a, b, n_resamples=5000)  # 2**10 <= 5000: exact
    ref = stats.permutation_test(
        (a, b), lambda x, y: np.mean(x - y), permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    )
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_monte_carlo_randomization_is_close_to_exact_and_detects_a_real_difference():
    rng = np.random.default_rng(2)
    a = rng.random(200)
    same = randomization_test(a, a + 0.01 * rng.standard_normal(200), n_resamples=4000, seed=0)
    better = randomization_test(a + 0.1, a + 0.1 * rng.standard_normal(200), n_resamples=4000, seed=0)
    assert better.p_value < 0.01 and better.mean_diff > 0
    assert same.p_value > 0.01


def test_bad_input_raises():
    with pytest.raises(ValueError, match="same length"):
        paired_t_test([1, 2], [1])
    with pytest.raises(ValueError, match="at least 2"):
        randomization_test([1.0], [0.0])


def test_bootstrap_interval_matches_a_hand_rolled_percentile_bootstrap_and_covers_the_mean():
    rng = np.random.default_rng(3)
    d = 0.02 + 0.1 * rng.standard_normal(300)
    low, high = bootstrap_interval(d, n_resamples=4000, seed=0)
    draws = np.random.default_rng(7).choice(d, size=(4000, d.size)).mean(axis=1)
    assert low < d.mean() < high
    assert low == pytest.approx(np.percentile(draws, 2.5), abs=0.004)
    assert high == pytest.approx(np.percentile(draws, 97.5), abs=0.004)
    assert bootstrap_interval(np.full(5, 0.25)) == (0.25, 0.25)


def test_compare_paired_names_a_winner_only_when_the_test_says_so():
    rng = np.random.default_rng(4)
    a = rng.random(200)
    clear = compare_paired(a + 0.1, a + 0.02 * rng.standard_normal(200), "mean pooling", "CLS pooling")
    assert clear.winner() == "mean pooling" and clear.low > 0 and clear.n == 200
    assert clear.verdict().startswith(f"On this collection mean pooling beat CLS pooling by {clear.diff:.3f} nDCG@10")
    reversed_ = compare_paired(a, a + 0.1, "x", "y")
    assert reversed_.winner() == "y" and reversed_.high < 0
    noise = compare_paired(a, a + 0.05 * rng.standard_normal(200), "x", "y")
    assert noise.winner() is None and noise.low < 0 < noise.high
    assert noise.verdict().startswith("No significant difference here")
    assert noise._repr_markdown_() == str(noise) == noise.verdict()


def test_compare_paired_pairs_dicts_by_key_and_rejects_mixed_input():
    c = compare_paired({"q1": 1.0, "q2": 0.5, "q3": 0.0}, {"q3": 0.0, "q2": 0.5, "q1": 1.0, "extra": 9.0})
    assert c.diff == 0 and c.n == 3 and c.winner() is None
    with pytest.raises(ValueError, match="both"):
        compare_paired({"q": 1.0}, [1.0])


def test_compare_paired_for_errors_where_lower_is_better():
    rng = np.random.default_rng(5)
    err = rng.random(100)
    c = compare_paired(err + 0.2, err, "PQ", "OPQ", "reconstruction error", higher_is_better=False, where="On these vectors")
    assert c.winner() == "OPQ" and c.diff > 0
    assert c.verdict().startswith("On these vectors OPQ beat PQ by 0.200 reconstruction error (lower is better)")


def test_a_winner_needs_both_the_test_and_the_interval():
    from lessonlib.evaluation.significance import PairedComparison

    split = PairedComparison("x", "y", "nDCG@10", 0.6, 0.54, 0.06, 0.001, 0.129, 0.069, 40)
    assert split.winner() is None and split.borderline()
    assert split.verdict().startswith("No significant difference here — borderline")
    agree = PairedComparison("x", "y", "nDCG@10", 0.6, 0.54, 0.06, 0.01, 0.11, 0.01, 40)
    assert agree.winner() == "x" and not agree.borderline()


def test_compare_groups_matches_an_exact_two_sample_permutation_test_and_names_the_higher_group():
    rng = np.random.default_rng(0)
    a, b = rng.random(7) + 0.3, rng.random(6)
    ours = compare_groups(a, b, "high overlap", "low overlap", n_resamples=20_000)
    exact = stats.permutation_test((a, b), lambda x, y: x.mean() - y.mean(), n_resamples=np.inf).pvalue  # 1,716 splits
    assert abs(ours.p_value - exact) < 0.02
    assert ours.low < ours.diff < ours.high and ours.diff == a.mean() - b.mean()
    clear = compare_groups(rng.random(50) + 0.5, rng.random(40), "x", "y")
    assert clear.higher() == "x" and clear.low > 0 and clear.verdict().startswith("On this collection nDCG@10 is higher on x")
    same = compare_groups(rng.random(50), rng.random(50), "x", "y")
    assert same.higher() is None and same.verdict().startswith("No significant difference")


def test_correlation_interval_is_fishers_z_and_covers_r():
    r, n = 0.6, 50
    low, high = correlation_interval(r, n)
    half = stats.norm.ppf(0.975) / np.sqrt(n - 3)
    assert (low, high) == pytest.approx((np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)))
    assert low < r < high and high - r < r - low  # asymmetric: squeezed towards +1
    assert correlation_interval(r, 500)[1] - correlation_interval(r, 500)[0] < high - low  # more queries, narrower
    assert correlation_interval(-0.3, 40) == pytest.approx(tuple(-x for x in reversed(correlation_interval(0.3, 40))))
    low1, high1 = correlation_interval(1.0, 30)  # clipped: finite
    assert np.isfinite(low1) and high1 <= 1.0
    with pytest.raises(ValueError, match="at least 4"):
        correlation_interval(0.5, 3)

