"""Hierarchical Navigable Small World graphs: greedy search on a layered proximity graph."""

from __future__ import annotations

import heapq
import math

import numpy as np
from tqdm.auto import tqdm

from lessonlib.index.base import Index


class HNSWIndex(Index):
    """HNSW (Malkov & Yashunin 2018, "Efficient and robust approximate nearest neighbor search
    using Hierarchical Navigable Small World graphs"), the structure inside FAISS ``IndexHNSWFlat``
    (factory ``"HNSW32"``) and hnswlib.

    * Each vector gets a random top layer l = floor(-ln(U) / ln(M)): every layer holds ~1/M of the
      one below, like a skip list.
    * Insert: greedy-descend from the entry point through the layers above l; on layers l..0 run a
      beam search with a candidate list of ``efConstruction``, and link the new node to at most M
      neighbours (2M on layer 0) chosen by the *diversity heuristic*: keep candidate e only if it
      is closer to the new node than to every neighbour already kept (so links point in different
      directions and long-range links survive). Reverse links are added; a list that overflows is
      shrunk with the same heuristic.
    * Search: greedy descent to layer 0, then a beam search with ``efSearch`` (>= k) candidates.

    Cost per query ~ O(log n) hops x degree distance computations. Written for reading: a Python
    loop over graph nodes with numpy for the distances (about 1-3 ms an insert), so builds on
    5k-20k vectors take seconds to a minute; FAISS/hnswlib do the same in C++.

    One engineering shortcut: neighbour lists may grow to twice their cap before being shrunk
    (amortised pruning), and every list is shrunk to its cap at the end of ``add``.

    >>> idx = HNSWIndex(384, M=16, efConstruction=40, efSearch=64).add(x)
    >>> idx.search(q, 10)
    """

    supports_remove = False

    def __init__(self, dim: int, metric: str = "ip", M: int = 16, efConstruction: int = 40, efSearch: int = 16,
                 seed: int = 0, progress: bool = True) -> None:
        super().__init__(dim, metric)
        if M < 2 or efConstruction < 1 or efSearch < 1:
            raise ValueError(f"HNSWIndex(M={M}, efConstruction={efConstruction}, efSearch={efSearch}): need M >= 2, ef >= 1")
        self.M, self.efConstruction, self.efSearch, self.seed, self.progress = M, efConstruction, efSearch, seed, progress
        self.vectors_ = np.zeros((0, dim), np.float32)
        self.levels_ = np.zeros(0, np.int64)
        self.graph: list[list[list[int]]] = []  # graph[level][node] -> neighbour list
        self.entry_point, self.max_level = -1, -1
        self._rng = np.random.default_rng(seed)
        self._tag = np.zeros(0, np.int64)  # "visited" marks: tag[node] == current search number
        self._search_no = 0

    def _params(self) -> dict:
        return {"M": self.M, "efConstruction": self.efConstruction, "efSearch": self.efSearch, "seed": self.seed}

    # -- distances ---------------------------------------------------------------------------------
    def _scores(self, q: np.ndarray, nodes) -> np.ndarray:
        x = self.vectors_[nodes]
        if self.metric == "ip":
            return x @ q
        diff = x - q
        return -np.einsum("ij,ij->i", diff, diff)

    def _cap(self, level: int) -> int:
        return 2 * self.M if level == 0 else self.M

    # -- the two core routines -----------------------------------------------------------------------
    def _search_layer(self, q: np.ndarray, entry: list[tuple[float, int]], ef: int, level: int) -> list[tuple[float, int]]:
        """Beam search on one layer; returns up to ef (score, node) pairs, best first."""
        self._search_no += 1
        tag, no, adj = self._tag, self._search_no, self.graph[level]
        for _, e in entry:
            tag[e] = no
        candidates = [(-s, e) for s, e in entry]  # max-heap on score
        heapq.heapify(candidates)
        results = [(s, e) for s, e in entry]      # min-heap: worst kept result on top
        heapq.heapify(results)
        while len(results) > ef:
            heapq.heappop(results)
        while candidates:
            neg, c = heapq.heappop(candidates)
            if -neg < results[0][0] and len(results) >= ef:
                break  # the best unexpanded candidate is worse than everything we keep
            nbrs = np.asarray(adj[c], dtype=np.int64)
            nbrs = nbrs[tag[nbrs] != no]
            if nbrs.size == 0:
                continue
            tag[nbrs] = no
            scores = self._scores(q, nbrs)
            if len(results) >= ef:  # only neighbours that beat the current worst matter
                keep = scores > results[0][0]
                nbrs, scores = nbrs[keep], scores[keep]
            for s, n in zip(scores.tolist(), nbrs.tolist()):
                if len(results) < ef or s > results[0][0]:
                    heapq.heappush(candidates, (-s, n))
                    heapq.heappush(results, (s, n))
                    if len(results) > ef:
                        heapq.heappop(results)
        return sorted(results, reverse=True)

    def _select_neighbors(self, base_scores: np.ndarray, nodes: np.ndarray, m: int) -> list[int]:
        """Diversity heuristic (paper's Algorithm 4): nodes sorted best first by score to the base."""
        if len(nodes) <= m:
            return nodes.tolist()
        x = self.vectors_[nodes]
        if self.metric == "ip":
            pair = x @ x.T
        else:
            sq = np.einsum("ij,ij->i", x, x)
            pair = -(sq[:, None] - 2 * x @ x.T + sq[None, :])
        kept: list[int] = []
        for i in range(len(nodes)):
            # keep i if it is closer to the base than to every neighbour already kept
            if not kept or (pair[i, kept] < base_scores[i]).all():
                kept.append(i)
                if len(kept) == m:
                    break
        return nodes[kept].tolist()

    def _shrink(self, node: int, level: int) -> None:
        nbrs = np.asarray(self.graph[level][node], dtype=np.int64)
        s = self._scores(self.vectors_[node], nbrs)
        order = np.argsort(-s, kind="stable")
        self.graph[level][node] = self._select_neighbors(s[order], nbrs[order], self._cap(level))

    # -- building ------------------------------------------------------------------------------------------
    def _insert(self, node: int) -> None:
        q = self.vectors_[node]
        level = int(self.levels_[node])
        for lv in range(len(self.graph), level + 1):
            self.graph.append([[] for _ in range(len(self.vectors_))])
        if self.entry_point < 0:
            self.entry_point, self.max_level = node, level
            return
        ep = [(float(self._scores(q, [self.entry_point])[0]), self.entry_point)]
        for lv in range(self.max_level, level, -1):  # greedy descent (ef = 1) above the node's layer
            ep = self._search_layer(q, ep, 1, lv)[:1]
        for lv in range(min(level, self.max_level), -1, -1):
            found = self._search_layer(q, ep, self.efConstruction, lv)
            scores = np.array([s for s, _ in found], np.float32)
            nodes = np.array([n for _, n in found], np.int64)
            chosen = self._select_neighbors(scores, nodes, self._cap(lv))
            self.graph[lv][node] = list(chosen)
            for n in chosen:  # reverse links, with amortised shrinking
                self.graph[lv][n].append(node)
                if len(self.graph[lv][n]) > 2 * self._cap(lv):
                    self._shrink(n, lv)
            ep = found
        if level > self.max_level:
            self.entry_point, self.max_level = node, level

    def _add(self, x: np.ndarray) -> None:
        start = len(self.vectors_)
        self.vectors_ = np.concatenate([self.vectors_, x])
        self._tag = np.concatenate([self._tag, np.zeros(len(x), np.int64)])
        u = self._rng.random(len(x))
        self.levels_ = np.concatenate([self.levels_, np.floor(-np.log(np.maximum(u, 1e-12)) / math.log(self.M)).astype(np.int64)])
        for layer in self.graph:
            layer.extend([] for _ in range(len(x)))
        for node in tqdm(range(start, start + len(x)), desc="HNSW build", disable=not self.progress or len(x) < 2000, leave=False):
            self._insert(node)
        for lv, layer in enumerate(self.graph):
            for node, nbrs in enumerate(layer):
                if len(nbrs) > self._cap(lv):
                    self._shrink(node, lv)

    def _search(self, q: np.ndarray, k: int):
        ef = max(self.efSearch, k)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        for qi, qv in enumerate(q):
            ep = [(float(self._scores(qv, [self.entry_point])[0]), self.entry_point)]
            for lv in range(self.max_level, 0, -1):
                ep = self._search_layer(qv, ep, 1, lv)[:1]
            found = self._search_layer(qv, ep, ef, 0)[:k]
            out_s[qi, :len(found)] = [s for s, _ in found]
            out_i[qi, :len(found)] = [n for _, n in found]
        return out_s, out_i

    # -- persistence: the graph as CSR arrays -----------------------------------------------------------------
    def _arrays(self) -> dict:
        arrays = {"vectors_": self.vectors_, "levels_": self.levels_,
                  "entry_": np.array([self.entry_point, self.max_level], np.int64)}
        for lv, layer in enumerate(self.graph):
            arrays[f"offsets_{lv}"] = np.cumsum([0] + [len(n) for n in layer]).astype(np.int64)
            arrays[f"links_{lv}"] = np.array([v for n in layer for v in n], np.int32)
        return arrays

    def _set_arrays(self, arrays: dict) -> None:
        self.vectors_, self.levels_ = arrays["vectors_"], arrays["levels_"]
        self.entry_point, self.max_level = (int(v) for v in arrays["entry_"])
        self._tag = np.zeros(len(self.vectors_), np.int64)
        self.graph = []
        lv = 0
        while f"offsets_{lv}" in arrays:
            off, links = arrays[f"offsets_{lv}"], arrays[f"links_{lv}"]
            self.graph.append([links[off[i]:off[i + 1]].tolist() for i in range(len(off) - 1)])
            lv += 1

    def memory_bytes(self) -> int:
        links = sum(len(n) for layer in self.graph for n in layer)
        return int(self.vectors_.nbytes + self._ids.nbytes + self.levels_.nbytes + 4 * links)
