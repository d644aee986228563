"""Combining runs: reciprocal rank fusion, normalised score interpolation, CombSUM / CombMNZ.

Every function takes runs (``{qid: {docid: score}}``) and returns a run. Ranks are trec_eval's
(score descending, ties by doc id descending), so fusing a run with itself keeps its order.

- RRF (Cormack, Clarke & Büttcher, 2009): ``score(d) = sum_r w_r / (k + rank_r(d))``, k = 60,
  rank starting at 1; a document missing from a run adds nothing.
- Interpolation: ``score(d) = sum_r w_r * norm_r(s_r(d))`` with min-max or z-score normalisation
  per query; a document missing from run r gets that run's normalised minimum (min-max: 0).
- CombSUM / CombMNZ (Fox & Shaw, 1994): sum of normalised scores; MNZ multiplies by the number
  of runs that retrieved the document.

>>> bm25 = {"q": {"a": 12.0, "b": 7.0}}
>>> dense = {"q": {"b": 0.9, "c": 0.8}}
>>> sorted(rrf([bm25, dense])["q"].items(), key=lambda x: -x[1])[0][0]
'b'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lessonlib.core.runs import Run, rank_documents


def _check(runs: Sequence[Run], weights: Sequence[float] | None, where: str) -> list[float]:
    if isinstance(runs, Mapping):
        raise ValueError(f"{where}(runs=...): expected a list of runs, got one run (a dict)")
    if len(runs) == 0:
        raise ValueError(f"{where}(runs=[]): need at least one run")
    if weights is None:
        return [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"{where}(weights={list(weights)}): need one weight per run ({len(runs)} runs)")
    return [float(w) for w in weights]


def _query_ids(runs: Sequence[Run]) -> list[str]:
    seen: dict[str, None] = {}
    for run in runs:
        seen.update(dict.fromkeys(run))
    return list(seen)


def _top(run: dict[str, float], depth: int | None) -> dict[str, float]:
    if depth is None or len(run) <= depth:
        return run
    return {d: run[d] for d in rank_documents(run)[:depth]}


def rrf(
    runs: Sequence[Run],
    k: float = 60.0,
    weights: Sequence[float] | None = None,
    depth: int | None = None,
) -> dict[str, dict[str, float]]:
    """Reciprocal rank fusion (Cormack et al., 2009): ``sum_r w_r / (k + rank_r(d))``.

    Args:
        runs: the runs to fuse.
        k: the constant that damps the top ranks (60 in the paper).
        weights: one per run (default all 1).
        depth: fuse only the top ``depth`` of each run (default: all of it), then keep the top
            ``depth`` fused documents.
    """
    w = _check(runs, weights, "rrf")
    if k < 0:
        raise ValueError(f"rrf(k={k}): k must be >= 0")
    fused: dict[str, dict[str, float]] = {}
    for qid in _query_ids(runs):
        scores: dict[str, float] = {}
        for run, weight in zip(runs, w):
            ranked = rank_documents(run.get(qid, {}))
            if depth is not None:
                ranked = ranked[:depth]
            for rank, doc in enumerate(ranked, start=1):
                scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
        fused[qid] = _top(scores, depth)
    return fused


def normalize(scores: Mapping[str, float], method: str = "minmax") -> dict[str, float]:
    """One query's scores normalised: ``"minmax"`` to [0, 1], ``"zscore"`` to mean 0 / std 1, or ``"none"``.

    A query whose scores are all equal maps to 1.0 (min-max) or 0.0 (z-score).
    """
    if method == "none":
        return dict(scores)
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    if method == "minmax":
        low, span = values.min(), values.max() - values.min()
        out = (values - low) / span if span > 0 else np.ones_like(values)
    elif method == "zscore":
        std = values.std()
        out = (values - values.mean()) / std if std > 0 else np.zeros_like(values)
    else:
        raise ValueError(f"normalize(method={method!r}): expected 'minmax', 'zscore' or 'none'")
    return dict(zip(scores, out.tolist()))


def interpolate(
    runs: Sequence[Run],
    weights: Sequence[float] | None = None,
    norm: str = "minmax",
    depth: int | None = None,
    keep: str = "all",
) -> dict[str, dict[str, float]]:
    """Weighted sum of per-query normalised scores, e.g. ``0.3 * bm25 + 0.7 * dense``.

        s(q, d) = sum_i w_i * norm(s_i)(q, d)

    A document missing from a run gets that run's lowest normalised score for the query.
    ``keep="all"`` fuses every query and document of any run; ``keep="first"`` only those of
    ``runs[0]`` (a re-ranked top k keeps its documents: :func:`lessonlib.retrieval.rerank.interpolate_first_stage`).
    """
    w = _check(runs, weights, "interpolate")
    if keep not in {"all", "first"}:
        raise ValueError(f"interpolate(keep={keep!r}): expected 'all' or 'first'")
    fused: dict[str, dict[str, float]] = {}
    for qid in (list(runs[0]) if keep == "first" else _query_ids(runs)):
        normed = [normalize(_top(run.get(qid, {}), depth), norm) for run in runs]
        docs = normed[0] if keep == "first" else dict.fromkeys(d for n in normed for d in n)
        floors = [min(n.values()) if n else 0.0 for n in normed]
        fused[qid] = _top(
            {d: sum(wt * n.get(d, fl) for wt, n, fl in zip(w, normed, floors)) for d in docs}, depth
        )
    return fused


def comb_sum(runs: Sequence[Run], norm: str = "minmax", depth: int | None = None) -> dict[str, dict[str, float]]:
    """CombSUM (Fox & Shaw, 1994): sum of normalised scores; a missing document adds 0."""
    _check(runs, None, "comb_sum")
    return _comb(runs, norm, depth, mnz=False)


def comb_mnz(runs: Sequence[Run], norm: str = "minmax", depth: int | None = None) -> dict[str, dict[str, float]]:
    """CombMNZ (Fox & Shaw, 1994): CombSUM times the number of runs that retrieved the document."""
    _check(runs, None, "comb_mnz")
    return _comb(runs, norm, depth, mnz=True)


def _comb(runs: Sequence[Run], norm: str, depth: int | None, mnz: bool) -> dict[str, dict[str, float]]:
    fused: dict[str, dict[str, float]] = {}
    for qid in _query_ids(runs):
        total: dict[str, float] = {}
        hits: dict[str, int] = {}
        for run in runs:
            for doc, s in normalize(_top(run.get(qid, {}), depth), norm).items():
                total[doc] = total.get(doc, 0.0) + s
                hits[doc] = hits.get(doc, 0) + 1
        fused[qid] = _top({d: s * hits[d] if mnz else s for d, s in total.items()}, depth)
    return fused


def hybrid(sparse_run: Run, dense_run: Run, k: float = 60.0, depth: int | None = 100) -> dict[str, dict[str, float]]:
    """The course's hybrid retriever: RRF (k=60) of a BM25 run and a dense run, top ``depth`` kept."""
    return rrf([sparse_run, dense_run], k=k, depth=depth)
