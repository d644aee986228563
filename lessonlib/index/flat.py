"""Exact (brute-force) search: the ground truth every approximate index is measured against."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, similarity


class FlatIndex(Index):
    """Exhaustive search over every stored vector (FAISS ``IndexFlatIP`` / ``IndexFlatL2``).

    score(q, x) = q . x (``"ip"``; cosine if the vectors are normalised) or -||q - x||^2 (``"l2"``).
    Cost per query: O(n d) multiply-adds, done as one matrix product per block of queries.

    >>> idx = FlatIndex(384, metric="ip").add(doc_vectors)
    >>> scores, ids = idx.search(query_vectors, k=10)        # (nq, 10) each, best first
    """

    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", block: int = 4096) -> None:
        super().__init__(dim, metric)
        self.block = block  # queries per matrix product, bounds the (block, n) score matrix
        self.vectors_ = np.zeros((0, dim), np.float32)
        self.norms_ = np.zeros(0, np.float32)

    def _params(self) -> dict:
        return {"block": self.block}

    def _arrays(self) -> dict:
        return {"vectors_": self.vectors_, "norms_": self.norms_}

    def _add(self, x: np.ndarray) -> None:
        self.vectors_ = np.concatenate([self.vectors_, x])
        self.norms_ = np.concatenate([self.norms_, np.einsum("ij,ij->i", x, x)])

    def _remove(self, keep: np.ndarray) -> None:
        self.vectors_, self.norms_ = self.vectors_[keep], self.norms_[keep]

    def _search(self, q: np.ndarray, k: int):
        out_s, out_i = [], []
        for start in range(0, len(q), self.block):
            s = similarity(q[start:start + self.block], self.vectors_, self.metric, self.norms_)
            v, p = topk(s, k)
            out_s.append(v), out_i.append(p)
        return np.concatenate(out_s), np.concatenate(out_i)
