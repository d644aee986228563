# exercise: hnsw_search
# function: hnsw_search
# practises: 05_ann_indexing — HNSW: greedy search on a layered graph (Day 10.1 §3.1)
# title: HNSW search: greedy descent, then a beam search on layer 0

# %% [markdown]
# # Exercise 18 — HNSW search: greedy descent through the layers, then a beam search on layer 0
#
# **Practises:** notebook `05_ann_indexing`, section "HNSW: greedy search on a layered graph" — Day 10.1 §3.1
# (vector databases, approximate search).
#
# HNSW (Malkov & Yashunin, 2018, "Efficient and robust approximate nearest neighbor search using Hierarchical
# Navigable Small World graphs") stores the vectors as a stack of proximity graphs: layer 0 links every vector to
# its neighbours, each layer above holds a sparse sample of the one below (like a skip list). A query
#
# 1. starts at the **entry point** on the top layer and runs a greedy search (a beam of width 1) on every layer
#    above 0: move to the best neighbour while it improves; where it stops is the entry of the next layer down;
# 2. on layer 0 runs a **beam search** with `ef' = max(ef, k)` (the paper's SEARCH-LAYER, Algorithm 2). Keep a
#    candidate heap C (best first) and a result set W of at most ef' nodes, both starting at the entry; mark nodes
#    visited when first seen. Pop the best candidate c; **stop** when W is full and score(c) < the worst score in
#    W; otherwise, for each unvisited neighbour e of c: mark it, and if W is not full or score(e) > the worst in W,
#    push e into C and W and drop W's worst if W has more than ef' nodes;
# 3. returns the k best of W.
#
# Score = inner product q·x (higher is better). `ef` trades work for recall: `ef = 1` on layer 0 is plain
# hill-climbing and can stop at a local optimum.
#
# Write `hnsw_search(query, vectors, layers, entry_point, ef, k)` → `(scores (k,), ids (k,))`, best first:
# - `query` (d,), `vectors` (n, d) float32; `layers[l][i]` is the neighbour list of node i on layer l
#   (`layers[0]` is the bottom layer; a node absent from a layer has an empty list there); `entry_point` is a
#   node of the top layer `layers[-1]`;
# - when fewer than k nodes are found, pad with score `-inf` and id `-1` (FAISS's convention).
# The hidden scores have no ties. Python's `heapq` is a min-heap: push `(-score, node)` for a max-heap.
#
# `check("hnsw_search", hnsw_search)` compares with `lessonlib.index.HNSWIndex.search` on named hidden cases: graphs
# the library built ("200 vectors, M=4, ef=8, k=5", "ef smaller than k: the beam widens to k", "k larger than the
# graph: pad with -inf / -1") and small graphs made by hand ("ef = 1 is greedy: it stops at a local optimum", "a wider
# beam (ef = 3) walks past the local optimum", "two layers: the upper one leads the descent next to the answer", "a
# node no edge leads to is never found", "a graph of a single node"). While your function runs, `HNSWIndex` (every
# method) cannot be called: the check stops it ("... is not available during this check"), because this exercise asks
# you to write it yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected
# and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
import heapq

import numpy as np

from lessonlib.workbook.checks import check


def hnsw_search(query: np.ndarray, vectors: np.ndarray, layers: list[list[list[int]]], entry_point: int,
                ef: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    # BEGIN SOLUTION
    def score(node: int) -> float:
        return float(vectors[node] @ query)

    def search_layer(entry: int, width: int, layer: list[list[int]]) -> list[tuple[float, int]]:
        seen = {entry}
        frontier = [(-score(entry), entry)]  # max-heap (negated scores) of nodes still to expand
        beam = [(score(entry), entry)]  # min-heap of the best `width` nodes found: its worst on top
        while frontier:
            minus_s, node = heapq.heappop(frontier)
            if len(beam) >= width and -minus_s < beam[0][0]:
                break  # the best node left to expand is worse than everything in a full beam
            for nb in layer[node]:
                if nb in seen:
                    continue
                seen.add(nb)
                if len(beam) < width or score(nb) > beam[0][0]:
                    heapq.heappush(frontier, (-score(nb), nb))
                    heapq.heappush(beam, (score(nb), nb))
                    if len(beam) > width:
                        heapq.heappop(beam)  # drop the worst
        return sorted(beam, reverse=True)

    entry = entry_point
    for layer in reversed(layers[1:]):  # greedy descent: a beam of 1 on every layer above 0
        entry = search_layer(entry, 1, layer)[0][1]
    found = search_layer(entry, max(ef, k), layers[0])[:k]
    scores, ids = np.full(k, -np.inf, np.float32), np.full(k, -1, np.int64)
    scores[: len(found)], ids[: len(found)] = [s for s, _ in found], [node for _, node in found]
    return scores, ids
    # END SOLUTION


# %%
result = check("hnsw_search", hnsw_search)
