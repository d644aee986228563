"""The one protocol every index follows, teaching or production, and the checks they share.

An index is configured in ``__init__`` (FAISS knob names: ``nlist``, ``nprobe``, ``M``,
``efConstruction``, ``efSearch``, ``nbits``; ``metric`` is ``"ip"`` or ``"l2"``, names from
:mod:`lessonlib.core.similarity`; for cosine, L2-normalise the vectors and use ``"ip"``), trained by
``train(vectors)`` where it learns something (centroids, codebooks, a rotation), filled by
``add(vectors, ids=None)`` and queried by ``search(queries, k) -> (scores, ids)``:

* ``scores``/``ids`` are numpy arrays of shape ``(nq, k)``, best first. Scores are "higher is
  better" for every metric: the inner product for ``"ip"``, the *negative* squared L2 distance
  for ``"l2"`` (so one ``argsort`` order serves both).
* When fewer than ``k`` vectors exist (``k > ntotal``) the missing slots hold id ``-1`` and score
  ``-inf``; this is FAISS's convention and it is not an error.
* ``ntotal``, ``memory_bytes()`` (the bytes the searchable structure holds), ``save(path)`` /
  ``load(path)`` (``.npz`` arrays + JSON settings, never pickle) and ``remove(ids)`` where the
  structure allows it.

Bad input is a clear ``ValueError`` naming the argument, the value and what was expected:
dimension mismatch, NaN/inf, k < 1, duplicate ids, search on an untrained index. Searching an
empty index is a ``RuntimeError``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lessonlib.core.io import atomic_write
from lessonlib.core.runs import topk
from lessonlib.core.similarity import INDEX_METRICS, check_similarity

METRICS = INDEX_METRICS  # the similarities an index computes on the vectors as stored


def check_metric(metric: str, owner: str = "Index") -> str:
    return check_similarity(owner, metric, METRICS, param="metric")


def as_matrix(x: Any, dim: int | None, name: str = "vectors", where: str = "add") -> np.ndarray:
    """``x`` as a C-contiguous float32 (n, dim) matrix, or a ValueError saying what is wrong."""
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{where}({name}): expected a 2-D array (n, dim), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{where}({name}): expected numbers, got dtype {arr.dtype}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{where}({name}): dimension mismatch, got dim {arr.shape[1]}, index has dim {dim}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr).all(axis=1)).sum())
        raise ValueError(f"{where}({name}): {bad} row(s) contain NaN or inf; clean or drop them first")
    return arr


def check_k(k: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"search(k={k!r}): k must be an integer >= 1")
    return int(k)


def pad_results(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (nq, k') results to (nq, k) with score -inf and id -1 (k' < k when ntotal < k)."""
    nq, have = ids.shape
    if have >= k:
        return scores[:, :k].astype(np.float32), ids[:, :k].astype(np.int64)
    s = np.full((nq, k), -np.inf, dtype=np.float32)
    i = np.full((nq, k), -1, dtype=np.int64)
    s[:, :have], i[:, :have] = scores, ids
    return s, i


def merge_topk(s1: np.ndarray, i1: np.ndarray, s2: np.ndarray, i2: np.ndarray, k: int, offset: int = 0):
    """Merge two (nq, *) best-first result lists into one (nq, k) list (ids of the second shifted by offset).

    The reduce step of sharded search and of block-wise scans: the top-k of a union is inside
    the union of the top-k's.
    """
    s = np.concatenate([s1, s2], 1)
    i = np.concatenate([i1, np.where(i2 >= 0, i2 + offset, -1)], 1)
    vals, pos = topk(s, k)
    return vals, np.take_along_axis(i, pos, 1)


def similarity(queries: np.ndarray, vectors: np.ndarray, metric: str, norms: np.ndarray | None = None) -> np.ndarray:
    """(nq, n) "higher is better" scores: ``q.x`` for ip, ``-||q - x||^2`` for l2."""
    dots = queries @ vectors.T
    if metric == "ip":
        return dots
    if norms is None:
        norms = np.einsum("ij,ij->i", vectors, vectors)
    qn = np.einsum("ij,ij->i", queries, queries)
    return -(qn[:, None] - 2.0 * dots + norms[None, :])


#: class name -> index class; every subclass registers itself, so ``Index.load`` can dispatch
_CLASSES: dict[str, type] = {}


class Index:
    """Base class: id bookkeeping, input checks, save/load plumbing. Subclasses implement
    ``_add(x)`` (rows get internal positions ntotal..), ``_search(q, k) -> (scores, positions)``,
    and optionally ``_train(x)``, ``_remove(positions)``; ``_state()``/``_set_state()`` for I/O.
    """

    needs_training: ClassVar[bool] = False
    supports_remove: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls

    def __init__(self, dim: int, metric: str = "ip") -> None:
        if not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim={dim!r}: expected an integer >= 1")
        self.dim = int(dim)
        self.metric = check_metric(metric, type(self).__name__)
        self.is_trained = not self.needs_training
        self._ids = np.zeros(0, dtype=np.int64)  # external id of each internal position

    # -- the protocol -------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self._ids.shape[0])

    def train(self, vectors: Any) -> "Index":
        x = as_matrix(vectors, self.dim, where="train")
        if self.needs_training:
            self._train(x)
        self.is_trained = True
        return self

    def add(self, vectors: Any, ids: Any = None) -> "Index":
        x = as_matrix(vectors, self.dim, where="add")
        if not self.is_trained:
            raise ValueError(f"add: {type(self).__name__} is not trained; call train(vectors) first")
        new_ids = self._new_ids(len(x), ids)
        self._add(x)
        self._ids = np.concatenate([self._ids, new_ids])
        return self

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = check_k(k)
        q = as_matrix(queries, self.dim, name="queries", where="search")
        if not self.is_trained:
            raise RuntimeError(f"search: {type(self).__name__} is not trained; call train(vectors) then add(...)")
        if self.ntotal == 0:
            raise RuntimeError(f"search: {type(self).__name__} is empty; add(vectors) first")
        scores, pos = self._search(q, min(k, self.ntotal))
        ids = np.where(pos >= 0, self._ids[np.maximum(pos, 0)], -1)
        scores = np.where(pos >= 0, scores, -np.inf)
        return pad_results(scores, ids, k)

    def remove(self, ids: Any) -> int:
        """Remove vectors by id; returns how many were removed (unknown ids are ignored)."""
        if not self.supports_remove:
            raise NotImplementedError(f"remove: {type(self).__name__} does not support removal; rebuild it")
        ids = np.asarray(ids, dtype=np.int64).ravel()
        keep = ~np.isin(self._ids, ids)
        removed = int((~keep).sum())
        if removed:
            self._remove(keep)
            self._ids = self._ids[keep]
        return removed

    def memory_bytes(self) -> int:
        """Bytes held by the searchable structure (codes, vectors, graph, ids)."""
        return int(self._ids.nbytes + sum(a.nbytes for a in self._arrays().values()))

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (``.npz``: every array + a JSON ``__meta__`` with class and settings)."""
        path = Path(path)
        meta = {"class": type(self).__name__, "dim": self.dim, "metric": self.metric,
                "is_trained": self.is_trained, "params": self._params()}
        arrays = {"__ids__": self._ids, **self._arrays()}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with atomic_write(path, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Index":
        """Read an index written by ``save`` (any teaching index class; ``Index.load`` dispatches)."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(bytes(data["__meta__"]).decode())
            arrays = {k: data[k] for k in data.files if k not in ("__meta__", "__ids__")}
            ids = data["__ids__"]
        if meta["class"] not in _CLASSES:
            raise ValueError(f"load({str(path)!r}): unknown index class {meta['class']!r}")
        klass = _CLASSES[meta["class"]]
        if cls is not Index and not issubclass(klass, cls):
            raise ValueError(f"load({str(path)!r}): file holds a {meta['class']}, not a {cls.__name__}")
        obj = klass(meta["dim"], metric=meta["metric"], **meta["params"])
        obj._ids = ids.astype(np.int64)
        obj.is_trained = meta["is_trained"]
        obj._set_arrays(arrays)
        return obj

    # -- hooks -----------------------------------------------------------------------------------
    def _params(self) -> dict:
        return {}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name, value in arrays.items():
            setattr(self, name, value)

    def _train(self, x: np.ndarray) -> None:  # pragma: no cover - overridden where needed
        pass

    def _add(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _remove(self, keep: np.ndarray) -> None:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------------------
    def _new_ids(self, n: int, ids: Any) -> np.ndarray:
        if ids is None:
            start = int(self._ids.max()) + 1 if self.ntotal else 0
            return np.arange(start, start + n, dtype=np.int64)
        arr = np.asarray(ids)
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(f"add(ids): expected {n} ids (one per vector), got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"add(ids): expected integer ids, got dtype {arr.dtype}; map string ids to ints first")
        arr = arr.astype(np.int64)
        if (arr < 0).any():
            raise ValueError("add(ids): ids must be >= 0 (-1 marks a missing result)")
        uniq, counts = np.unique(arr, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"add(ids): duplicate ids in the batch, e.g. {uniq[counts > 1][:5].tolist()}")
        clash = np.intersect1d(arr, self._ids)
        if clash.size:
            raise ValueError(f"add(ids): ids already in the index, e.g. {clash[:5].tolist()}; remove them first")
        return arr

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}(dim={self.dim}, metric={self.metric!r}{', ' if params else ''}{params}; ntotal={self.ntotal})"
