"""Is run A really better than run B? Paired significance tests over per-query scores.

Both tests take two arrays of one measure per query (same queries, same order; see
:func:`lessonlib.evaluation.metrics.per_query_array`) and test "mean difference = 0", two-sided.

- Paired t-test (Student, 1908): ``t = mean(d) / (std(d, ddof=1) / sqrt(n))``, d = a - b.
- Paired randomisation (permutation) test (Fisher, 1935; recommended for IR by Smucker, Allan &
  Carterette, 2007): under the null the labels A/B of each query are exchangeable, so flip the
  sign of each d_i at random; ``p = (1 + #{|mean(flipped)| >= |mean(d)|}) / (1 + R)``. With
  ``2**n <= n_resamples`` every sign pattern is enumerated and p is exact.
- Fisher's z interval for a correlation between two measures over queries (``correlation_interval``).

>>> paired_t_test([0.5, 0.6, 0.7], [0.4, 0.5, 0.5]).p_value < 0.1
True
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

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


def bootstrap_interval(d, level: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(d)`` (Efron & Tibshirani, 1993), via ``scipy.stats.bootstrap``.

    Resamples the paired differences ``d`` (one per query or per seed) with replacement; returns
    ``(low, high)`` at ``level``. A constant ``d`` has the degenerate interval ``(d0, d0)``.
    """
    from scipy import stats

    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"bootstrap_interval: need a 1-D array of at least 2 differences, got shape {d.shape}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_interval(level={level}): must be in (0, 1)")
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0])
    res = stats.bootstrap((d,), np.mean, confidence_level=level, n_resamples=n_resamples,
                          method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def correlation_interval(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a Pearson correlation ``r`` measured on ``n`` pairs (e.g. queries), by Fisher's
    z-transform (Fisher, 1915): artanh(r) is about normal with standard error 1 / sqrt(n - 3), so

        (low, high) = tanh(artanh(r) -/+ z / sqrt(n - 3)),  z = the normal quantile at (1 + level) / 2 (1.96 at 0.95).

    ``r`` is clipped to +-0.9999 first (artanh(+-1) is infinite). Introduced in notebook 11.

    >>> [round(x, 3) for x in correlation_interval(0.5, 103)]
    [0.339, 0.632]
    """
    if n < 4:
        raise ValueError(f"correlation_interval(n={n}): need at least 4 pairs")
    if not 0 < level < 1:
        raise ValueError(f"correlation_interval(level={level}): must be in (0, 1)")
    half = NormalDist().inv_cdf((1 + level) / 2) / np.sqrt(n - 3)
    z = np.arctanh(np.clip(r, -0.9999, 0.9999))
    return float(np.tanh(z - half)), float(np.tanh(z + half))


@dataclass(frozen=True)
class PairedComparison:
    """A measured difference between two systems on the same queries (or seeds), with its uncertainty.

    ``diff = mean(a) - mean(b)``; ``low``/``high`` its bootstrap interval at ``level``; ``p_value``
    from the paired randomisation test. :meth:`verdict` is the sentence a notebook prints instead of
    asserting a winner: the winner only when the test says so, "no significant difference" otherwise.
    Taught in notebook 11 (significance) and used wherever a notebook compares two systems.
    """

    name_a: str
    name_b: str
    measure: str
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p_value: float
    n: int
    level: float = 0.95
    unit: str = "queries"
    higher_is_better: bool = True
    where: str = "On this collection"

    def significant(self, alpha: float = 0.05) -> bool:
        """True when the randomisation test rejects "no difference" at ``alpha`` and the interval
        excludes 0 (so the sentence never names a winner that its own interval contradicts)."""
        return self.p_value < alpha and not self.low <= 0 <= self.high

    def borderline(self, alpha: float = 0.05) -> bool:
        """True when the test and the interval disagree (one says different, the other cannot tell)."""
        return (self.p_value < alpha) == (self.low <= 0 <= self.high) and self.low != self.high

    def winner(self, alpha: float = 0.05) -> str | None:
        """The better system's name when the difference is significant, else None."""
        if not self.significant(alpha):
            return None
        return self.name_a if (self.diff > 0) == self.higher_is_better else self.name_b

    def verdict(self, alpha: float = 0.05) -> str:
        """One sentence: who won by how much (interval, p, n), or that the data cannot tell."""
        ci = f"{self.level:.0%} CI {self.low:+.3f} to {self.high:+.3f}, p = {self.p_value:.3g}, {self.n} {self.unit}"
        figures = f"{self.name_a} {self.mean_a:.3f} vs {self.name_b} {self.mean_b:.3f} {self.measure}"
        winner = self.winner(alpha)
        if winner is None:
            hedge = " — borderline: the test and the interval disagree" if self.borderline(alpha) else ""
            return f"No significant difference here{hedge}: {figures} (difference {self.diff:+.3f}, {ci})."
        loser = self.name_b if winner == self.name_a else self.name_a
        better = "" if self.higher_is_better else " (lower is better)"
        return f"{self.where} {winner} beat {loser} by {abs(self.diff):.3f} {self.measure}{better} ({figures}; {ci})."

    def __str__(self) -> str:
        return self.verdict()

    def _repr_markdown_(self) -> str:  # a notebook cell ending on a comparison shows the sentence
        return self.verdict()


def compare_paired(a, b, name_a: str = "A", name_b: str = "B", measure: str = "nDCG@10", *,
                   unit: str = "queries", level: float = 0.95, n_resamples: int = 10_000,
                   seed: int = 0, higher_is_better: bool = True,
                   where: str = "On this collection") -> PairedComparison:
    """Measure ``a`` against ``b``: mean difference, bootstrap interval and randomisation-test p-value.

    ``a`` and ``b`` are paired scores: arrays in the same order, or ``{query_id: score}`` dicts
    (paired over the keys they share; per-query output of :func:`lessonlib.evaluation.metrics.evaluate`
    with one measure works as is when given as ``{qid: value}``). Seeds work the same way
    (``unit="seeds"``). ``higher_is_better=False`` for errors and distances; ``where`` opens the
    verdict (e.g. ``"On this synthetic data"``).

    >>> c = compare_paired([0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.7, 0.8], "x", "y")
    >>> c.winner() is None
    True
    """
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            raise ValueError("compare_paired: give both a and b as dicts, or both as arrays")
        keys = [k for k in a if k in b]
        a, b = [a[k] for k in keys], [b[k] for k in keys]
    d = _pair(a, b, "compare_paired")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    low, high = bootstrap_interval(d, level=level, n_resamples=n_resamples, seed=seed)
    p = randomization_test(a, b, n_resamples=n_resamples, seed=seed).p_value
    return PairedComparison(name_a, name_b, measure, float(a.mean()), float(b.mean()), float(d.mean()),
                            low, high, p, int(d.size), level, unit, higher_is_better, where)


@dataclass(frozen=True)
class GroupComparison:
    """One measure on two disjoint groups of queries: difference of means, its bootstrap interval and
    the two-sided permutation-test p-value. :meth:`verdict` is the sentence a notebook prints."""

    name_a: str
    name_b: str
    measure: str
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    diff: float
    low: float
    high: float
    p_value: float
    level: float = 0.95

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha

    def higher(self, alpha: float = 0.05) -> str | None:
        """The group with the higher mean when the difference is significant, else None."""
        return (self.name_a if self.diff > 0 else self.name_b) if self.significant(alpha) else None

    def verdict(self, alpha: float = 0.05) -> str:
        figures = (f"{self.measure} {self.mean_a:.3f} on {self.name_a} ({self.n_a}) vs {self.mean_b:.3f} on "
                   f"{self.name_b} ({self.n_b}); difference {self.diff:+.3f}, {self.level:.0%} CI {self.low:+.3f} to "
                   f"{self.high:+.3f}, p = {self.p_value:.3g}, two-sample permutation test")
        hi = self.higher(alpha)
        if hi is None:
            return f"No significant difference between the groups here: {figures}."
        lo = self.name_b if hi == self.name_a else self.name_a
        return f"On this collection {self.measure} is higher on {hi} than on {lo} by {abs(self.diff):.3f} ({figures})."

    def __str__(self) -> str:
        return self.verdict()

    def _repr_markdown_(self) -> str:
        return self.verdict()


def compare_groups(a, b, name_a: str = "A", name_b: str = "B", measure: str = "nDCG@10", *,
                   level: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> GroupComparison:
    """Compare the mean of ``a`` with the mean of ``b``, two independent groups of per-query values.

    p: two-sided permutation test of "same mean" (group labels shuffled, ``scipy.stats.permutation_test``);
    interval: percentile bootstrap of ``mean(a) - mean(b)``, each group resampled on its own.

    >>> c = compare_groups([0.9, 0.8, 1.0, 0.9, 0.95, 0.85], [0.1, 0.2, 0.0, 0.15, 0.1, 0.05], "high", "low")
    >>> c.higher(), round(c.diff, 3), c.p_value < 0.05
    ('high', 0.8, True)
    >>> compare_groups([0.5, 0.6], [0.6, 0.5]).higher() is None
    True
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or a.size < 2 or b.size < 2:
        raise ValueError(f"compare_groups: need two 1-D groups of at least 2 values, got shapes {a.shape} and {b.shape}")
    diff = lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis)
    p = stats.permutation_test((a, b), diff, n_resamples=n_resamples, vectorized=True,
                               random_state=np.random.default_rng(seed)).pvalue
    if np.ptp(np.r_[a, b]) == 0:
        low = high = 0.0
    else:
        ci = stats.bootstrap((a, b), diff, n_resamples=n_resamples, vectorized=True, method="percentile",
                             confidence_level=level, random_state=np.random.default_rng(seed)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return GroupComparison(name_a, name_b, measure, float(a.mean()), float(b.mean()), int(a.size), int(b.size),
                           float(diff(a, b)), low, high, float(p), level)
