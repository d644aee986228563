"""Exercise 9 (07_distributed_serving §3.3): merging the top-k lists of shards."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import merge_topk, pad_results
from lessonlib.index.serving import ShardedIndex
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _shard_result(rng: np.random.Generator, nq: int, length: int, valid: int, id_offset: int, ties: bool):
    scores = np.full((nq, length), -np.inf, np.float32)
    ids = np.full((nq, length), -1, np.int64)
    for row in range(nq):
        v = rng.integers(0, 3, valid).astype(np.float32) if ties else rng.normal(size=valid).astype(np.float32)
        order = np.argsort(-v, kind="stable")
        scores[row, :valid] = v[order]
        ids[row, :valid] = id_offset + rng.choice(1000, valid, replace=False)[order]
    return scores, ids


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for nq, n_shards, k, ties, short, name in [(1, 2, 3, False, False, "2 shards, one query"), (2, 3, 5, False, False, "3 shards, 2 queries"),
                                               (3, 4, 10, False, True, "short shards padded with -1"), (1, 1, 4, False, False, "one shard"),
                                               (2, 3, 4, True, False, "tied scores"), (1, 2, 8, False, True, "short shards, k = 8")]:
        scores, ids = [], []
        for s in range(n_shards):
            length = int(rng.integers(1, k + 1)) if short else k
            valid = int(rng.integers(0, length + 1)) if short else length
            sc, i = _shard_result(rng, nq, length, valid, 1000 * s, ties)
            scores.append(sc)
            ids.append(i)
        out.append(Case(name, {"shard_scores": scores, "shard_ids": ids, "k": k}))
    tied = np.array([[2.0, 1.0]], np.float32)
    out.append(Case("ties across shards: the first shard wins",
                    {"shard_scores": [tied, tied.copy()], "shard_ids": [np.array([[5, 6]]), np.array([[3, 4]])], "k": 3}))
    out.append(Case("k larger than all shards together",
                    {"shard_scores": [np.array([[0.9, 0.1]], np.float32), np.array([[0.5]], np.float32)],
                     "shard_ids": [np.array([[7, 2]]), np.array([[11]])], "k": 5}))
    empty = (np.full((1, 3), -np.inf, np.float32), np.full((1, 3), -1, np.int64))
    out.append(Case("nothing found on any shard", {"shard_scores": [empty[0], empty[0].copy()], "shard_ids": [empty[1], empty[1].copy()], "k": 3}))
    return out


def reference(shard_scores, shard_ids, k):
    nq = len(shard_scores[0])
    best_s, best_i = np.full((nq, 0), -np.inf, np.float32), np.zeros((nq, 0), np.int64)
    for s, i in zip(shard_scores, shard_ids):  # the gather step of lessonlib.index.serving.ShardedIndex.search
        best_s, best_i = merge_topk(best_s, best_i, np.asarray(s, np.float32), np.asarray(i, np.int64), k)
    best_s, best_i = pad_results(best_s, best_i, k)
    return np.where(best_i >= 0, best_s, -np.inf), best_i


def _merge(shard_scores, shard_ids, k, pad=True, later_first=False, ties_by_id=False):
    shards = list(zip(shard_scores, shard_ids))
    if later_first:
        shards = shards[::-1]
    out_s, out_i = np.full((len(shard_scores[0]), k), -np.inf, np.float32), np.full((len(shard_scores[0]), k), -1, np.int64)
    rows = []
    for row in range(len(shard_scores[0])):
        pairs = [(float(s[row, j]), int(i[row, j])) for s, i in shards for j in range(s.shape[1]) if i[row, j] >= 0]
        pairs = sorted(pairs, key=(lambda p: (-p[0], p[1])) if ties_by_id else (lambda p: -p[0]))[:k]  # stable: shard, position
        rows.append(pairs)
        for j, (s, i) in enumerate(pairs):
            out_s[row, j], out_i[row, j] = s, i
    if not pad:
        width = max((len(r) for r in rows), default=0)
        return out_s[:, :width], out_i[:, :width]
    return out_s, out_i


def wrong_no_padding(shard_scores, shard_ids, k):
    return _merge(shard_scores, shard_ids, k, pad=False)


def wrong_later_shard_first(shard_scores, shard_ids, k):
    return _merge(shard_scores, shard_ids, k, later_first=True)


def wrong_ties_by_id(shard_scores, shard_ids, k):
    return _merge(shard_scores, shard_ids, k, ties_by_id=True)


register(ExerciseCheck(
    id="merge_shards", title="Merging the top-k lists of shards",
    practises="07_distributed_serving — scatter-gather over shards (Day 10.1 §3.3)",
    cases=cases, reference=reference,
    hint="per query: pool every shard's (score, id) pairs, drop the id -1 padding, sort by score descending "
         "(ties: earlier shard first, then earlier position), keep k, pad with score -inf / id -1 to exactly k.",
    wrong={
        "return exactly k columns: pad with score -inf and id -1 where fewer than k results exist.": wrong_no_padding,
        "on tied scores the shard listed FIRST wins (a stable sort over the shards in order).": wrong_later_shard_first,
        "ties are broken by shard order, then by position in the shard's list, not by the smaller id.": wrong_ties_by_id,
    },
    blocks=(merge_topk, pad_results, topk, ShardedIndex),
    atol=1e-6,
))
