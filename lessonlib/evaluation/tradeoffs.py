"""Multi-objective choices for retrieval systems: the n-objective Pareto set, a weighted pick, and fairness of exposure.

A system configuration (index type, dimension, probes, reranking depth ...) is a point with several
objectives: quality (maximise), latency, memory and unfairness (minimise). No single number orders
them; the *Pareto set* is every configuration that no other one beats on all objectives at once
(:func:`pareto_mask`), and a budget or a weighting picks one of them (:func:`weighted_choice`,
the weighted Chebyshev scalarisation of Miettinen 1999, which can reach every Pareto point, unlike a
weighted sum). ``lessonlib.evaluation.latency.pareto_front`` is the two-objective special case.

Fairness of exposure (Singh & Joachims 2018, "Fairness of Exposure in Rankings"): rank r gets
attention e(r) = 1 / log2(1 + r) (the DCG discount). :func:`group_exposure` is each group's share of
the top-k exposure, summed over queries; :func:`exposure_disparity` compares it with the group's share
of a reference (its share of relevant documents = exposure proportional to merit; or of the corpus).

>>> pareto_mask([[0.7, 10], [0.6, 20], [0.8, 30]], maximize=[True, False]).tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lessonlib.core.runs import Run, hits_to_run, rank_documents
from lessonlib.evaluation.latency import measure_latency


def _as_objectives(points, maximize) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected points of shape (n_systems, n_objectives), got {x.shape}")
    sign = np.asarray([1.0 if m else -1.0 for m in maximize])
    if sign.shape != (x.shape[1],):
        raise ValueError(f"maximize has {sign.size} entries for {x.shape[1]} objectives")
    return x * sign, sign  # every column "higher is better"


def pareto_mask(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> np.ndarray:
    """True for the non-dominated rows of ``points`` (n_systems, n_objectives).

    Row a dominates row b when a is at least as good on every objective and strictly better on
    one; ``maximize[j]`` says whether objective j is better high (quality) or low (cost).
    Identical rows do not dominate each other (both are kept). Shape -> bool (n_systems,).
    """
    x, _ = _as_objectives(points, maximize)
    keep = np.ones(len(x), dtype=bool)
    for i in range(len(x)):
        better_eq = (x >= x[i]).all(1)
        strictly = (x > x[i]).any(1)
        if (better_eq & strictly).any():
            keep[i] = False
    return keep


def weighted_choice(points: Sequence[Sequence[float]], maximize: Sequence[bool], weights: Sequence[float],
                    constraints: Mapping[int, float] | None = None) -> int:
    """The row minimising the weighted Chebyshev distance to the ideal point, among rows meeting ``constraints``.

    Objectives are min-max normalised over the rows, so weights compare like with like:
    d(a) = max_j w_j · (best_j − a_j) / (best_j − worst_j). ``constraints`` maps an objective index
    to a bound (a lower bound for maximised objectives, an upper bound for minimised ones),
    e.g. ``{1: 5.0}`` = latency <= 5 ms. Raises ValueError if no row meets the constraints.
    """
    raw = np.asarray(points, dtype=np.float64)
    x, sign = _as_objectives(raw, maximize)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (x.shape[1],) or (w < 0).any():
        raise ValueError(f"weighted_choice(weights={list(weights)}): need {x.shape[1]} non-negative weights")
    ok = np.ones(len(x), dtype=bool)
    for j, bound in (constraints or {}).items():
        ok &= raw[:, j] >= bound if sign[j] > 0 else raw[:, j] <= bound
    if not ok.any():
        raise ValueError(f"weighted_choice(constraints={dict(constraints or {})}): no system meets them")
    best, worst = x.max(0), x.min(0)
    span = np.where(best > worst, best - worst, 1.0)
    dist = (w * (best - x) / span).max(1)
    dist[~ok] = np.inf
    return int(np.argmin(dist))


def add_and_measure(index, x: np.ndarray) -> float:
    """Train ``index`` on ``x``, add ``x`` in two halves, return the marginal bytes per stored vector.

    (memory after all − memory after half) / (vectors in the second half): codebooks, centroids and
    other fixed costs cancel out, so a PQ16 index reports its 16-byte codes, not its codebooks
    spread over a small corpus. ``index`` follows the lessonlib.index protocol (train, add, memory_bytes).
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) < 2:
        raise ValueError(f"add_and_measure: need at least 2 vectors, got {len(x)}")
    half = len(x) // 2
    index.train(x)
    index.add(x[:half])
    before = index.memory_bytes()
    index.add(x[half:])
    return (index.memory_bytes() - before) / (len(x) - half)


@dataclass
class IndexPoint:
    """One index configuration on the memory / latency / quality plane (:func:`measure_index`)."""

    bytes_per_vector: float  # marginal bytes per stored vector (:func:`add_and_measure`)
    p50_ms: float  # median latency of a one-query search
    run: Run  # the top-k of every query, for quality measures and paired tests


def measure_index(index, docs: np.ndarray, queries: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str],
                  k: int = 10, n_latency: int = 30, warmup: int = 2) -> IndexPoint:
    """Train and fill ``index`` with ``docs``, time one-query searches, and search every query.

    Memory: :func:`add_and_measure`; latency: the median of one-query searches over the first
    ``n_latency`` queries after ``warmup`` untimed ones (:func:`lessonlib.evaluation.latency.measure_latency`);
    quality: the run of the top ``k`` of every query (``index.search`` ids mapped to ``doc_ids``).
    Introduced in notebook 13 (study questions on compression and on system trade-offs).
    """
    per_vector = add_and_measure(index, docs)
    p50 = measure_latency(lambda q: index.search(q[None], k), queries[:n_latency], warmup=warmup).summary()["p50_ms"]
    scores, ids = index.search(queries, k)
    return IndexPoint(per_vector, p50, hits_to_run(query_ids, doc_ids, scores, ids))


def group_exposure(run: Run, groups: Mapping[str, str], k: int = 10) -> dict[str, float]:
    """Each group's share of the position-weighted exposure of the top ``k``, over all queries.

    exposure(g) = Σ_q Σ_{r ≤ k, group(d_r) = g} 1 / log2(1 + r); shares sum to 1. Documents
    missing from ``groups`` count as group ``"?"``. Ties in a query's scores are broken by doc id.
    """
    if k < 1:
        raise ValueError(f"group_exposure(k={k}): k must be >= 1")
    total: dict[str, float] = {}
    for docs in run.values():
        for r, d in enumerate(rank_documents(docs, k), start=1):
            g = groups.get(d, "?")
            total[g] = total.get(g, 0.0) + 1.0 / np.log2(1 + r)
    s = sum(total.values())
    return {g: v / s for g, v in sorted(total.items())} if s > 0 else {}


def merit_shares(qrels: Mapping[str, Mapping[str, int]], groups: Mapping[str, str], queries: Sequence[str] | None = None) -> dict[str, float]:
    """Each group's share of the relevant (grade > 0) judgments of ``queries`` (default: all)."""
    counts: dict[str, float] = {}
    for q in (qrels if queries is None else queries):
        for d, g in qrels.get(q, {}).items():
            if g > 0:
                counts[groups.get(d, "?")] = counts.get(groups.get(d, "?"), 0.0) + 1.0
    s = sum(counts.values())
    return {g: v / s for g, v in sorted(counts.items())} if s > 0 else {}


def exposure_disparity(run: Run, groups: Mapping[str, str], reference: Mapping[str, float], k: int = 10) -> float:
    """max over groups of |exposure share − reference share| (0 = exposure exactly as the reference).

    ``reference`` is e.g. :func:`merit_shares` (exposure proportional to relevance) or each
    group's share of the corpus (demographic parity of exposure).

    >>> exposure_disparity({"q": {"a": 2.0, "b": 1.0}}, {"a": "x", "b": "y"}, {"x": 0.5, "y": 0.5}, k=2) > 0
    True
    """
    shares = group_exposure(run, groups, k)
    keys = set(shares) | set(reference)
    return float(max(abs(shares.get(g, 0.0) - reference.get(g, 0.0)) for g in keys)) if keys else 0.0
