"""Inverted file index: search only the clusters nearest to the query."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, similarity
from lessonlib.index.kmeans import assign, kmeans


class IVFIndex(Index):
    """IVF-Flat (Sivic & Zisserman 2003; Jégou, Douze & Schmid 2011): k-means cuts the space into
    ``nlist`` Voronoi cells; each vector is stored in the list of its nearest centroid; a query
    scans only the ``nprobe`` lists whose centroids are nearest to it.

    Work per query ~ nlist + n * nprobe / nlist distance computations instead of n; recall
    rises with ``nprobe`` (nprobe = nlist is exact search). FAISS: ``IndexIVFFlat``, ``"IVF256,Flat"``.

    >>> idx = IVFIndex(384, nlist=64, nprobe=8).train(x).add(x)
    >>> scores, ids = idx.search(q, 10)
    """

    needs_training = True
    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", nlist: int = 64, nprobe: int = 8, niter: int = 25, seed: int = 0) -> None:
        super().__init__(dim, metric)
        if nlist < 1 or nprobe < 1:
            raise ValueError(f"IVFIndex(nlist={nlist}, nprobe={nprobe}): both must be >= 1")
        self.nlist, self.nprobe, self.niter, self.seed = nlist, nprobe, niter, seed
        self.centroids_ = np.zeros((0, dim), np.float32)
        self.vectors_ = np.zeros((0, dim), np.float32)
        self.list_of_ = np.zeros(0, np.int64)  # which inverted list each stored vector is in

    def _params(self) -> dict:
        return {"nlist": self.nlist, "nprobe": self.nprobe, "niter": self.niter, "seed": self.seed}

    def _arrays(self) -> dict:
        return {"centroids_": self.centroids_, "vectors_": self.vectors_, "list_of_": self.list_of_}

    def _set_arrays(self, arrays: dict) -> None:
        super()._set_arrays(arrays)
        self._rebuild_lists()

    def _train(self, x: np.ndarray) -> None:
        self.centroids_ = kmeans(x, self.nlist, niter=self.niter, seed=self.seed)

    def coarse(self, x: np.ndarray) -> np.ndarray:
        """The inverted list (cell) each row of ``x`` is stored in: its nearest centroid, by the index's
        metric as FAISS assigns it (inner product for "ip")."""
        if self.metric == "ip":
            return np.argmax(x @ self.centroids_.T, axis=1)
        return assign(x, self.centroids_)

    def _add(self, x: np.ndarray) -> None:
        self.vectors_ = np.concatenate([self.vectors_, x])
        self.list_of_ = np.concatenate([self.list_of_, self.coarse(x)])
        self._rebuild_lists()

    def _remove(self, keep: np.ndarray) -> None:
        self.vectors_, self.list_of_ = self.vectors_[keep], self.list_of_[keep]
        self._rebuild_lists()

    def _rebuild_lists(self) -> None:
        # the inverted lists: positions sorted by list, with offsets (a CSR layout)
        self.order_ = np.argsort(self.list_of_, kind="stable")
        self.offsets_ = np.searchsorted(self.list_of_[self.order_], np.arange(self.nlist + 1))

    def probes(self, q: np.ndarray) -> np.ndarray:
        """(nq, nprobe) the lists each query scans: its ``nprobe`` nearest centroids, nearest first."""
        return topk(similarity(q, self.centroids_, self.metric), min(self.nprobe, self.nlist))[1]

    def _search(self, q: np.ndarray, k: int):
        probes = self.probes(q)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        for qi in range(len(q)):
            cand = np.concatenate([self.order_[self.offsets_[c]:self.offsets_[c + 1]] for c in probes[qi]])
            if cand.size == 0:
                continue
            s = similarity(q[qi:qi + 1], self.vectors_[cand], self.metric)
            v, p = topk(s, k)
            out_s[qi, :v.shape[1]], out_i[qi, :v.shape[1]] = v[0], cand[p[0]]
        return out_s, out_i
