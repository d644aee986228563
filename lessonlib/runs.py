"""Turning score matrices into runs, and small operations on runs.

A run is ``dict[query_id, dict[doc_id, score]]`` (higher is better), the shape pytrec_eval uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
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
) -> dict[str, dict[str, float]]:
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
) -> dict[str, dict[str, float]]:
    """A run from search results ``(scores, indices)`` of shape (nq, k); index -1 means no hit."""
    run: dict[str, dict[str, float]] = {}
    for qid, row_scores, row_idx in zip(query_ids, top_scores, top_idx):
        run[qid] = {doc_ids[j]: float(s) for s, j in zip(row_scores, row_idx) if j >= 0}
    return run


def truncate(run: dict[str, dict[str, float]], k: int) -> dict[str, dict[str, float]]:
    """Keep the best ``k`` documents of each query (ties broken by doc id, as trec_eval does)."""
    if k < 1:
        raise ValueError(f"truncate(k={k}): k must be >= 1")
    out = {}
    for qid, docs in run.items():
        ranked = sorted(docs.items(), key=lambda item: (-item[1], item[0]))[:k]
        out[qid] = dict(ranked)
    return out
