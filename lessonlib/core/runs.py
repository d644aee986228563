"""Turning score matrices into runs, and small operations on runs.

A run is ``dict[query_id, dict[doc_id, score]]`` (higher is better), the shape pytrec_eval uses.

The one ranking order of the workbook is trec_eval's: score descending, then doc id descending
(trec_eval sorts by score and breaks ties with ``strcmp`` on the doc ids, in reverse). Every sort,
truncation and top-k over a run goes through :func:`ranked` so that a run cut at k keeps exactly
the documents trec_eval would rank first (notebook 00 introduces runs and trec_eval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Run = dict[str, dict[str, float]]
"""A run: query id -> doc id -> score (higher is better), the shape pytrec_eval takes."""
Qrels = dict[str, dict[str, int]]
"""Relevance judgments: query id -> doc id -> grade (0 = judged not relevant)."""


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns of each row of ``scores`` (nq, nd), best first.

    Returns ``(top_scores, top_idx)`` of shape (nq, min(k, nd)). Ties keep the lower column first.
    """
    if k < 1:
        raise ValueError(f"topk(k={k}): k must be >= 1")
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"topk: scores must be 2-D (queries x docs), got shape {scores.shape}")
    k = min(k, scores.shape[1])
    if k == 0:
        empty = np.zeros((scores.shape[0], 0))
        return empty.astype(scores.dtype), empty.astype(np.int64)
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        # argpartition picks an arbitrary one of the columns tied with the k-th best score; rows with
        # such a tie at the cut are re-selected by a full (score desc, column asc) sort.
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        for row in np.flatnonzero((scores >= kth).sum(axis=1) > k):
            part[row] = np.lexsort((np.arange(scores.shape[1]), -scores[row]))[:k]
    else:
        part = np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # Sort by score descending, then column ascending (stable, deterministic ties).
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(scores, idx, axis=1), idx


def scores_to_run(
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    scores: np.ndarray,
    k: int = 100,
) -> Run:
    """A run from a dense score matrix ``scores`` (len(query_ids), len(doc_ids)): top ``k`` per query."""
    scores = np.asarray(scores)
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(
            f"scores_to_run: scores shape {scores.shape} does not match "
            f"({len(query_ids)} queries, {len(doc_ids)} docs)"
        )
    top_scores, top_idx = topk(scores, k)
    return hits_to_run(query_ids, doc_ids, top_scores, top_idx)


def hits_to_run(
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    top_scores: np.ndarray,
    top_idx: np.ndarray,
) -> Run:
    """A run from search results ``(scores, indices)`` of shape (nq, k); index -1 means no hit."""
    run: Run = {}
    for qid, row_scores, row_idx in zip(query_ids, top_scores, top_idx):
        run[qid] = {doc_ids[j]: float(s) for s, j in zip(row_scores, row_idx) if j >= 0}
    return run


def ranked(docs: Mapping[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """One query's ``(doc id, score)`` pairs in trec_eval's order (score desc, then doc id desc), the first ``k``.

    >>> ranked({"a": 1.0, "b": 2.0, "c": 2.0})
    [('c', 2.0), ('b', 2.0), ('a', 1.0)]
    """
    order = sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return order if k is None else order[:k]


def rank_documents(docs: Mapping[str, float], k: int | None = None) -> list[str]:
    """Doc ids of one query's run in trec_eval's order (:func:`ranked`), the first ``k``."""
    return [d for d, _ in ranked(docs, k)]


def truncate(run: Run, k: int, qids: Sequence[str] | None = None) -> Run:
    """The best ``k`` documents of each query in trec_eval's order (:func:`ranked`), for ``qids`` if given.

    The kept documents are exactly the first ``k`` that trec_eval would rank, ties included.
    """
    if k < 1:
        raise ValueError(f"truncate(k={k}): k must be >= 1")
    qids = list(run) if qids is None else [q for q in qids if q in run]
    return {q: dict(ranked(run[q], k)) for q in qids}
