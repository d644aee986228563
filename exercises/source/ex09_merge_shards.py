# exercise: merge_shards
# function: merge_shards
# practises: 07_distributed_serving — scatter-gather over shards (Day 10.1 §3.3)
# title: Merging the top-k lists of shards

# %% [markdown]
# # Exercise 9 — Merging the top-k lists of shards
#
# **Practises:** notebook `07_distributed_serving`, Day 10.1 §3.3 (distributed and scalable systems).
#
# A corpus too large for one machine is split into shards; a query goes to every shard (scatter), each returns
# its own top k, and the results are merged (gather). Exact, because the top k of a union lies inside the union
# of the top k's. Shards answer in FAISS's format: `scores` and `ids` of shape (nq, k_s), best first, and where a
# shard found fewer than k_s vectors its missing slots hold id `-1` (score `-inf`).
#
# Write `merge_shards(shard_scores, shard_ids, k)`: lists with one (nq, k_s) array per shard (k_s may differ
# between shards) → `(scores (nq, k), ids (nq, k))`, per query the k best (score, id) pairs of all shards, best
# first. **Ties:** the shard listed first wins, then the earlier position in its list. Padding entries (id -1)
# are never results; where fewer than k real results exist, pad with score `-inf` and id `-1`.
#
# `check("merge_shards", merge_shards)` compares with `lessonlib.index.merge_topk`, the gather step of
# `lessonlib.index.serving.ShardedIndex`, on named hidden cases: "one shard", "short shards padded with -1", "tied
# scores", "ties across shards: the first shard wins", "k larger than all shards together", "nothing found on any
# shard". While your function runs, `merge_topk`, `pad_results`, `topk` and `ShardedIndex` cannot be called: the
# check stops them ("... is not available during this check"), because this exercise asks you to write it yourself.
# A failing case is shown by its name, with its inputs (summarised when large), the expected and your output, and a
# hint, the specific one when your output matches a classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def merge_shards(shard_scores: list[np.ndarray], shard_ids: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    # BEGIN SOLUTION
    scores = np.concatenate([np.asarray(s, dtype=np.float64) for s in shard_scores], axis=1)
    ids = np.concatenate([np.asarray(i, dtype=np.int64) for i in shard_ids], axis=1)
    scores = np.where(ids >= 0, scores, -np.inf)
    out_s = np.full((len(ids), k), -np.inf)
    out_i = np.full((len(ids), k), -1, dtype=np.int64)
    for row in range(len(ids)):
        real = np.flatnonzero(ids[row] >= 0)
        order = real[np.argsort(-scores[row, real], kind="stable")][:k]  # stable: shard order, then position
        out_s[row, : len(order)], out_i[row, : len(order)] = scores[row, order], ids[row, order]
    return out_s, out_i
    # END SOLUTION


# %%
result = check("merge_shards", merge_shards)
