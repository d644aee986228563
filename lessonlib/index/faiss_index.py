"""FAISS behind the lessonlib protocol: any factory string, ids, checks, atomic save."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from lessonlib.index.base import Index, as_matrix, check_k, check_metric, pad_results
from lessonlib.core.io import atomic_dir, verify_folder
from lessonlib.core.similarity import faiss_metric


def _unwrap(index):
    """Yield the FAISS index and every index nested inside it (IDMap, PreTransform, IVF quantizer)."""
    import faiss

    seen = index
    while seen is not None:
        seen = faiss.downcast_index(seen)
        yield seen
        seen = getattr(seen, "index", None) if not hasattr(seen, "hnsw") else getattr(seen, "storage", None)


class FaissIndex(Index):
    """A FAISS index (Johnson, Douze & Jégou 2019; Douze et al. 2024) built from a factory string.

    ``"Flat"``, ``"IVF256,Flat"``, ``"HNSW32"``, ``"PQ48"``, ``"OPQ16,PQ16"``, ``"SQ8"``,
    ``"IVF256,PQ48"``, ``"OPQ48,IVF256,PQ48"``, ``"LSH256"`` (IndexLSH with 256 rotated hyperplanes)... Indexes that cannot store ids themselves are
    wrapped in ``IndexIDMap2``, so ``add(x, ids)`` and ``remove(ids)`` work the same everywhere.
    Search knobs (``nprobe``, ``efSearch``) go through ``faiss.ParameterSpace``; ``efConstruction``
    is set before the first add. Scores are "higher is better": FAISS's L2 distances are negated.

    >>> idx = FaissIndex("IVF64,PQ48", 384, metric="ip", nprobe=16).train(x).add(x)
    >>> scores, ids = idx.search(q, 10)
    """

    supports_remove = True

    def __init__(self, factory: str, dim: int, metric: str = "ip", nprobe: int | None = None,
                 efSearch: int | None = None, efConstruction: int | None = None, threads: int | None = None) -> None:
        import faiss

        Index.__init__(self, dim, check_metric(metric, "FaissIndex"))
        self.factory, self.nprobe, self.efSearch, self.efConstruction, self.threads = factory, nprobe, efSearch, efConstruction, threads
        metric_id = faiss_metric(metric, "FaissIndex")  # "ip" -> METRIC_INNER_PRODUCT, "l2" -> METRIC_L2
        # IndexLSH ranks by Hamming distance whatever the metric; FAISS only accepts METRIC_L2 for it
        self._distances = metric == "l2" or factory.split(",")[-1].startswith("LSH")
        if factory.split(",")[-1].startswith("LSH"):
            metric_id = faiss.METRIC_L2
        lsh = re.fullmatch(r"LSH(\d*)", factory)
        try:
            if lsh:  # FAISS's factory only knows nbits = dim; "LSH256" = 256 random rotated hyperplanes
                base = faiss.IndexLSH(self.dim, int(lsh.group(1) or self.dim), True, False)
            else:
                base = faiss.index_factory(self.dim, factory, metric_id)
        except RuntimeError as exc:
            raise ValueError(f"FaissIndex(factory={factory!r}): FAISS cannot build it: {str(exc).splitlines()[0]}") from exc
        for sub in _unwrap(base):
            if hasattr(sub, "do_polysemous_training"):
                sub.do_polysemous_training = False  # IndexPQ's default re-orders codes by annealing: minutes, not needed
        try:
            faiss.extract_index_ivf(base)
            self.index = base  # IVF indexes store ids natively
        except RuntimeError:
            self.index = faiss.IndexIDMap2(base)
        self._apply_params()

    def _apply_params(self) -> None:
        import faiss

        if self.threads:
            faiss.omp_set_num_threads(self.threads)
        ps = faiss.ParameterSpace()
        if self.nprobe is not None:
            ps.set_index_parameter(self.index, "nprobe", self.nprobe)
        if self.efSearch is not None:
            ps.set_index_parameter(self.index, "efSearch", self.efSearch)
        if self.efConstruction is not None:
            for sub in _unwrap(self.index):
                if hasattr(sub, "hnsw"):
                    sub.hnsw.efConstruction = self.efConstruction

    def set(self, **params: Any) -> "FaissIndex":
        """Change search knobs in place, e.g. ``idx.set(nprobe=32)`` or ``idx.set(efSearch=128)``."""
        for name, value in params.items():
            if name not in ("nprobe", "efSearch", "efConstruction", "threads"):
                raise ValueError(f"set({name}=...): unknown knob; expected nprobe, efSearch, efConstruction or threads")
            setattr(self, name, value)
        self._apply_params()
        return self

    @property
    def is_trained(self) -> bool:  # type: ignore[override]
        return bool(getattr(self, "index", None) is None or self.index.is_trained)

    @is_trained.setter
    def is_trained(self, value: bool) -> None:
        pass  # FAISS knows

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def train(self, vectors: Any) -> "FaissIndex":
        x = as_matrix(vectors, self.dim, where="train")
        if not self.index.is_trained:
            n_needed = _min_train(self.factory)
            if len(x) < n_needed:
                raise ValueError(f"train: {self.factory!r} needs at least {n_needed} training vectors, got {len(x)}")
            self.index.train(x)
        return self

    def add(self, vectors: Any, ids: Any = None) -> "FaissIndex":
        x = as_matrix(vectors, self.dim, where="add")
        if not self.index.is_trained:
            raise ValueError(f"add: FaissIndex({self.factory!r}) is not trained; call train(vectors) first")
        new_ids = self._new_ids(len(x), ids)
        self.index.add_with_ids(x, new_ids)
        self._ids = np.concatenate([self._ids, new_ids])
        return self

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = check_k(k)
        q = as_matrix(queries, self.dim, name="queries", where="search")
        if not self.index.is_trained:
            raise RuntimeError(f"search: FaissIndex({self.factory!r}) is not trained; call train(vectors) then add(...)")
        if self.index.ntotal == 0:
            raise RuntimeError(f"search: FaissIndex({self.factory!r}) is empty; add(vectors) first")
        d, i = self.index.search(q, k)
        scores = -d if self._distances else d
        scores[i < 0] = -np.inf
        return scores, i

    def remove(self, ids: Any) -> int:
        import faiss

        ids = np.asarray(ids, dtype=np.int64).ravel()
        try:
            removed = int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
        except RuntimeError as exc:
            raise NotImplementedError(f"remove: FaissIndex({self.factory!r}) does not support removal ({str(exc).splitlines()[0]})") from exc
        self._ids = self._ids[~np.isin(self._ids, ids)]
        return removed

    def memory_bytes(self) -> int:
        """Size of the serialised FAISS index (what it holds in memory, to within a few bytes)."""
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)

    def save(self, path: str | os.PathLike) -> Path:
        """A folder: ``index.faiss`` (faiss.write_index), ``ids.npy``, ``meta.json``; written atomically."""
        import faiss

        path = Path(path)
        with atomic_dir(path) as tmp:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            np.save(tmp / "ids.npy", self._ids)
            (tmp / "meta.json").write_text(json.dumps({"class": "FaissIndex", "factory": self.factory, "dim": self.dim,
                                                       "metric": self.metric, "nprobe": self.nprobe, "efSearch": self.efSearch,
                                                       "efConstruction": self.efConstruction}))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FaissIndex":
        import faiss

        path = Path(path)
        verify_folder(path)
        meta = json.loads((path / "meta.json").read_text())
        obj = cls(meta["factory"], meta["dim"], meta["metric"])
        obj.index = faiss.read_index(str(path / "index.faiss"))
        obj._ids = np.load(path / "ids.npy", allow_pickle=False)
        obj.set(**{k: meta[k] for k in ("nprobe", "efSearch", "efConstruction") if meta.get(k) is not None})
        return obj

    def __repr__(self) -> str:
        return f"FaissIndex({self.factory!r}, dim={self.dim}, metric={self.metric!r}; ntotal={self.ntotal})"


def _min_train(factory: str) -> int:
    """Smallest training set FAISS accepts: nlist for IVF, 2^nbits (256) for PQ codebooks."""
    import re

    need = 1
    m = re.search(r"IVF(\d+)", factory)
    if m:
        need = max(need, int(m.group(1)))
    if re.search(r"PQ\d+", factory):
        nb = re.search(r"PQ\d+x(\d+)", factory)
        need = max(need, 1 << int(nb.group(1)) if nb else 256)
    return need


def pad(scores: np.ndarray, ids: np.ndarray, k: int):  # re-exported helper for peers
    return pad_results(scores, ids, k)
