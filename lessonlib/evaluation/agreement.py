"""Rank agreement between two runs over the same candidates: does a cheaper system rank like the dearer one?

For each query, over the documents both runs scored:

* Kendall's tau-b (Kendall 1938; tau-b corrects for ties, as ``scipy.stats.kendalltau``)::

      tau_b = (C - D) / sqrt((C + D + T_a) * (C + D + T_b))

  C / D = concordant / discordant document pairs, T_a / T_b = pairs tied in one run only.
* top-k overlap: |top_k(a) & top_k(b)| / k (k capped by the number of common documents).
* top-1 agreement: both runs put the same document first.

Means over the queries the runs share. A compressed or sparse model that keeps tau near 1 can
replace the original without re-checking relevance judgments; nDCG says whether it matters.

>>> a = {"q": {"d1": 3.0, "d2": 2.0, "d3": 1.0}}
>>> b = {"q": {"d1": 0.9, "d2": 0.1, "d3": 0.5}}
>>> rank_agreement(a, b, k=2)["kendall_tau"]
0.333...
"""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import Run, rank_documents


def kendall_tau(x, y) -> float:
    """Kendall's tau-b of two score vectors (n,), by counting pairs; 1.0 when fewer than 2 items or all tied."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"kendall_tau: expected two 1-D arrays of one length, got {x.shape} and {y.shape}")
    if len(x) < 2:
        return 1.0
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    s = float((dx * dy).sum())  # C - D
    nx, ny = float((dx != 0).sum()), float((dy != 0).sum())
    if nx == 0 or ny == 0:
        return 1.0 if nx == ny else 0.0
    return s / np.sqrt(nx * ny)


def rank_agreement(run_a: Run, run_b: Run, k: int = 10) -> dict[str, float]:
    """Mean Kendall tau-b, top-``k`` overlap and top-1 agreement over the queries both runs have.

    Returns ``{"kendall_tau", "overlap@k", "top1", "n_queries"}``.
    """
    if k < 1:
        raise ValueError(f"rank_agreement(k={k}): must be >= 1")
    taus, overlaps, top1 = [], [], []
    for qid in sorted(set(run_a) & set(run_b)):
        common = sorted(set(run_a[qid]) & set(run_b[qid]))
        if not common:
            continue
        a = {d: run_a[qid][d] for d in common}
        b = {d: run_b[qid][d] for d in common}
        taus.append(kendall_tau([a[d] for d in common], [b[d] for d in common]))
        kk = min(k, len(common))
        overlaps.append(len(set(rank_documents(a, kk)) & set(rank_documents(b, kk))) / kk)
        top1.append(float(rank_documents(a, 1) == rank_documents(b, 1)))
    if not taus:
        raise ValueError("rank_agreement: the runs share no query with common documents")
    return {"kendall_tau": float(np.mean(taus)), f"overlap@{k}": float(np.mean(overlaps)),
            "top1": float(np.mean(top1)), "n_queries": len(taus)}
