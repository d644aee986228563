"""Is run A really better than run B? Paired significance tests over per-query scores.

Both tests take two arrays of one measure per query (same queries, same order; see
:func:`lessonlib.metrics.per_query_array`) and test "mean difference = 0", two-sided.

- Paired t-test (Student, 1908): ``t = mean(d) / (std(d, ddof=1) / sqrt(n))``, d = a - b.
- Paired randomisation (permutation) test (Fisher, 1935; recommended for IR by Smucker, Allan &
  Carterette, 2007): under the null the labels A/B of each query are exchangeable, so flip the
  sign of each d_i at random; ``p = (1 + #{|mean(flipped)| >= |mean(d)|}) / (1 + R)``. With
  ``2**n <= n_resamples`` every sign pattern is enumerated and p is exact.

>>> paired_t_test([0.5, 0.6, 0.7], [0.4, 0.5, 0.5]).p_value < 0.1
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TestResult:
    """Outcome of a paired test: mean of a - b, the statistic, the two-sided p-value, n queries."""

    mean_diff: float
    statistic: float
    p_value: float
    n: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def _pair(a, b, where: str) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"{where}: a and b must be 1-D with the same length, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"{where}: need at least 2 paired queries, got {a.size}")
    return a - b


def paired_t_test(a, b) -> TestResult:
    """Two-sided paired t-test of mean(a - b) = 0 (same as ``scipy.stats.ttest_rel``)."""
    from scipy import stats

    d = _pair(a, b, "paired_t_test")
    sd = d.std(ddof=1)
    if sd == 0:
        return TestResult(float(d.mean()), 0.0 if d.mean() == 0 else float("inf"), 1.0 if d.mean() == 0 else 0.0, d.size)
    t = d.mean() / (sd / np.sqrt(d.size))
    p = 2 * stats.t.sf(abs(t), df=d.size - 1)
    return TestResult(float(d.mean()), float(t), float(p), d.size)


def randomization_test(a, b, n_resamples: int = 10_000, seed: int = 0) -> TestResult:
    """Two-sided paired randomisation test of mean(a - b) = 0 by random sign flips.

    Exact (all ``2**n`` sign patterns) when ``2**n <= n_resamples``; otherwise Monte Carlo with
    ``n_resamples`` draws from ``numpy.random.default_rng(seed)``.
    """
    d = _pair(a, b, "randomization_test")
    if n_resamples < 1:
        raise ValueError(f"randomization_test(n_resamples={n_resamples}): must be >= 1")
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)  # count float ties as "as extreme"
    n = d.size
    if n <= 20 and 2**n <= n_resamples:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        means = np.abs(signs @ d) / n
        p = float(np.mean(means >= observed - tol))
    else:
        rng = np.random.default_rng(seed)
        extreme = 0
        for start in range(0, n_resamples, 1000):
            block = min(1000, n_resamples - start)
            signs = rng.choice([-1.0, 1.0], size=(block, n))
            extreme += int(np.sum(np.abs(signs @ d) / n >= observed - tol))
        p = (1 + extreme) / (1 + n_resamples)
    return TestResult(float(d.mean()), float(d.mean()), p, n)
