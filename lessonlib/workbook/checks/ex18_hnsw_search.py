"""Exercise 18 (05_ann_indexing §3.1): HNSW search, greedy descent then a beam search on layer 0."""

from __future__ import annotations

import numpy as np

from lessonlib.index import HNSWIndex
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _built(rng: np.random.Generator, n: int, d: int, M: int, ef: int, k: int) -> dict:
    """A graph HNSWIndex built itself (its layers as lists), and a query near one of its vectors."""
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    index = HNSWIndex(d, M=M, efConstruction=16, seed=int(rng.integers(1000)), progress=False).add(vectors)
    layers = [[[int(v) for v in nbrs] for nbrs in layer] for layer in index.graph]
    query = (vectors[rng.integers(n)] + rng.normal(scale=0.5, size=d)).astype(np.float32)
    return {"query": query, "vectors": vectors, "layers": layers, "entry_point": int(index.entry_point), "ef": ef, "k": k}


def _by_hand(layers: list, ef: int, k: int, extra: np.ndarray | None = None) -> dict:
    """Query (1, 0) on 4 points: from entry 0, node 1 (0.5) looks better than node 2 (-0.3), but the nearest,
    node 3 (1.0), hangs off node 2."""
    vectors = np.array([[0.0, 1.0], [0.5, 0.5], [-0.3, 0.2], [1.0, -0.5]], np.float32)
    if extra is not None:
        vectors = np.concatenate([vectors, extra.astype(np.float32)])
    return {"query": np.array([1.0, 0.0], np.float32), "vectors": vectors, "layers": layers, "entry_point": 0, "ef": ef, "k": k}


_LAYER0 = [[1, 2], [0], [0, 3], [2]]


def cases(rng: np.random.Generator) -> list[Case]:
    out = [Case(name, _built(rng, n, d, M, ef, k)) for name, n, d, M, ef, k in [
        ("200 vectors, M=4, ef=8, k=5", 200, 8, 4, 8, 5),
        ("200 vectors, M=8, ef=16, k=10", 200, 16, 8, 16, 10),
        ("120 vectors, M=3, ef=4, k=3", 120, 6, 3, 4, 3),
        ("ef smaller than k: the beam widens to k", 150, 8, 4, 2, 8),
        ("ef = 1 on a built graph", 100, 4, 4, 1, 1),
        ("k larger than the graph: pad with -inf / -1", 12, 4, 3, 4, 20)]]
    out.append(Case("ef = 1 is greedy: it stops at a local optimum", _by_hand([_LAYER0], ef=1, k=1)))
    out.append(Case("a wider beam (ef = 3) walks past the local optimum", _by_hand([_LAYER0], ef=3, k=2)))
    out.append(Case("two layers: the upper one leads the descent next to the answer",
                    _by_hand([_LAYER0, [[3], [], [], [0]]], ef=1, k=1)))
    out.append(Case("a node no edge leads to is never found",
                    _by_hand([_LAYER0 + [[3]]], ef=5, k=5, extra=np.array([[2.0, 0.0]]))))
    single = _by_hand([[[]]], ef=4, k=3)
    single["vectors"] = single["vectors"][:1]
    out.append(Case("a graph of a single node", single))
    return out


def reference(query, vectors, layers, entry_point, ef, k):
    """HNSWIndex.search on the given graph (loaded through the arrays its save() writes)."""
    vectors = np.asarray(vectors, np.float32)
    index = HNSWIndex(vectors.shape[1], M=2, efSearch=max(1, ef), progress=False)
    arrays = {"vectors_": vectors, "levels_": np.zeros(len(vectors), np.int64),
              "entry_": np.array([entry_point, len(layers) - 1], np.int64)}
    for lv, layer in enumerate(layers):
        arrays[f"offsets_{lv}"] = np.cumsum([0] + [len(n) for n in layer]).astype(np.int64)
        arrays[f"links_{lv}"] = np.array([v for n in layer for v in n], np.int32)
    index._set_arrays(arrays)
    index._ids = np.arange(len(vectors), dtype=np.int64)
    scores, ids = index.search(np.asarray(query, np.float32)[None, :], k)
    return scores[0], ids[0]


def _search(query, vectors, layers, entry_point, ef, k, descend=True, beam=None, greedy=False):
    """The search with one known mistake switched on (lists sorted by score instead of heaps: no ties here)."""
    def value(node):
        return float(np.dot(vectors[node], query))

    def layer_search(start, width, adjacency):
        visited, to_expand, kept = {start}, [start], [start]
        while to_expand:
            to_expand.sort(key=value)
            current = to_expand.pop()  # the best one left
            if len(kept) >= width and value(current) < min(value(n) for n in kept):
                break
            for other in adjacency[current]:
                if other not in visited:
                    visited.add(other)
                    if len(kept) < width or value(other) > min(value(n) for n in kept):
                        to_expand.append(other)
                        kept.append(other)
                        if len(kept) > width:
                            kept.remove(min(kept, key=value))
        return sorted(kept, key=value, reverse=True)

    def hill_climb(start, adjacency):  # move to the best neighbour while it improves; remember all seen
        visited, current = {start}, start
        while True:
            visited.update(adjacency[current])
            best = max(adjacency[current], key=value, default=current)
            if value(best) <= value(current):
                return current, visited
            current = best

    start = entry_point
    if greedy:
        visited: set[int] = set()
        for adjacency in reversed(layers):
            start, more = hill_climb(start, adjacency)
            visited |= more
        top = sorted(visited, key=value, reverse=True)[:k]
    else:
        for adjacency in (reversed(layers[1:]) if descend else []):
            start = layer_search(start, 1, adjacency)[0]
        top = layer_search(start, max(ef, k) if beam is None else beam(ef, k), layers[0])[:k]
    out_scores, out_ids = np.full(k, -np.inf, np.float32), np.full(k, -1, np.int64)
    out_scores[: len(top)] = [value(n) for n in top]
    out_ids[: len(top)] = top
    return out_scores, out_ids


def wrong_no_descent(query, vectors, layers, entry_point, ef, k):
    return _search(query, vectors, layers, entry_point, ef, k, descend=False)


def wrong_beam_of_k(query, vectors, layers, entry_point, ef, k):
    return _search(query, vectors, layers, entry_point, ef, k, beam=lambda ef, k: k)


def wrong_hill_climbing(query, vectors, layers, entry_point, ef, k):
    return _search(query, vectors, layers, entry_point, ef, k, greedy=True)


register(ExerciseCheck(
    id="hnsw_search", title="HNSW search: greedy descent, then a beam search on layer 0",
    practises="05_ann_indexing — HNSW: greedy search on a layered graph (Day 10.1 §3.1)",
    cases=cases, reference=reference,
    hint="from the entry point, run the beam search with width 1 on every layer from the top down to layer 1 (its "
         "result is the next layer's entry), then with width max(ef, k) on layer 0; the beam search keeps the best "
         "`width` nodes seen, expands the best unexpanded candidate, never revisits a node, and stops when that "
         "candidate scores below the worst kept result of a full beam; pad to k with -inf / -1.",
    wrong={
        "you started layer 0 at the entry point: first descend the upper layers with a beam of width 1 (from the top "
        "layer down to layer 1), each ending where the next starts.": wrong_no_descent,
        "the beam on layer 0 is max(ef, k) wide, not k: ef is the knob that buys recall.": wrong_beam_of_k,
        "you climbed greedily (one node at a time) on layer 0: keep a beam of the max(ef, k) best nodes and expand "
        "candidates until the best unexpanded one is worse than the worst kept.": wrong_hill_climbing,
    },
    blocks=(HNSWIndex,),
    atol=1e-5,
))
