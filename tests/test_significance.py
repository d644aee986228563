"""lessonlib.significance against scipy.stats (ttest_rel, exact permutation_test)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lessonlib.significance import paired_t_test, randomization_test


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
