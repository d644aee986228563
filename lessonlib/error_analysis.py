"""Per-query error analysis of a ranking pipeline: where the relevant document ends up, and why.

For one query and one run, the *first relevant rank* r is the 1-based position of its best-placed
relevant document (trec_eval's order: score descending, ties by doc id descending), or None when
no relevant document was retrieved. A cascade (first stage -> re-ranker of the top k) fails in
one of four ways, from worst to best:

    "not retrieved"      r is None or r > k  : a first-stage miss; no re-ranker can fix it
    "retrieved, > 10"    10 < r <= k          : a ranking error the re-ranker could fix
    "rank 2-10"          2 <= r <= 10         : found, but not on top
    "rank 1"             r = 1

``bucket_counts`` counts queries per bucket for each stage; ``stage_rows`` lays one query's path
through the stages side by side (rank of the relevant document, the top titles) for reading
examples, the step of error analysis that numbers alone skip (e.g. Manning, Raghavan & Schütze
2008, ch. 8, on looking at individual queries).

``compare_groups`` measures one system on two *disjoint* slices of queries (e.g. high- vs
low-overlap claims): the slices hold different queries, so the paired tests of
:mod:`lessonlib.significance` do not apply; it uses a two-sample permutation test (Fisher 1935)
and a two-sample percentile bootstrap of the difference of means (Efron & Tibshirani 1993).

>>> first_relevant_rank({"q": {"b": 1}}, {"q": {"a": 2.0, "b": 1.0}}, "q")
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lessonlib.metrics import rank_documents

BUCKETS = ("rank 1", "rank 2-10", "retrieved, > 10", "not retrieved")


def first_relevant_rank(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
                        qid: str) -> int | None:
    """1-based rank of the best-placed relevant (grade > 0) document of ``qid`` in ``run``, or None."""
    relevant = {d for d, g in qrels.get(qid, {}).items() if g > 0}
    for r, d in enumerate(rank_documents(run.get(qid, {})), start=1):
        if d in relevant:
            return r
    return None


def bucket(rank: int | None, k: int) -> str:
    """The failure bucket (see the module docstring) of a first relevant rank, for re-ranking depth ``k``."""
    if k < 1:
        raise ValueError(f"bucket(k={k}): k must be >= 1")
    if rank is None or rank > k:
        return "not retrieved"
    if rank == 1:
        return "rank 1"
    return "rank 2-10" if rank <= 10 else "retrieved, > 10"


def bucket_counts(qrels: Mapping[str, Mapping[str, int]], runs: Mapping[str, Mapping[str, Mapping[str, float]]],
                  qids: Sequence[str], k: int) -> dict[str, dict[str, int]]:
    """{stage: {bucket: number of queries}} over ``qids``, every bucket present (0 if empty)."""
    out = {}
    for name, run in runs.items():
        counts = dict.fromkeys(BUCKETS, 0)
        for q in qids:
            counts[bucket(first_relevant_rank(qrels, run, q), k)] += 1
        out[name] = counts
    return out


def stage_rows(dataset, runs: Mapping[str, Mapping[str, Mapping[str, float]]], qid: str, n: int = 3,
               width: int = 70) -> list[dict]:
    """One row per stage for query ``qid``: ``{"stage", "rank", "top"}``, ``top`` the first ``n``
    titles (cut to ``width`` characters), each marked ✓ when judged relevant, ✗ when judged not
    relevant and · when unjudged."""
    judged = dataset.qrels.get(qid, {})
    rows = []
    for name, run in runs.items():
        top = []
        for d in rank_documents(run.get(qid, {}))[:n]:
            mark = "✓" if judged.get(d, -1) > 0 else ("✗" if d in judged else "·")
            title = dataset.corpus[d].get("title") or dataset.corpus[d].get("text", "")
            top.append(f"{mark} {title[:width]}")
        rows.append({"stage": name, "rank": first_relevant_rank(dataset.qrels, run, qid), "top": top})
    return rows


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
