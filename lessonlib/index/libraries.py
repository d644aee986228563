"""Other ANN libraries behind the same protocol: Annoy (Spotify), hnswlib, ScaNN (Google), NMSLIB.

ScaNN and NMSLIB are optional (not lessonlib dependencies): :func:`peer_status` says, in one line,
why one is absent (not installed, no wheel for this Python or platform, installed but does not load),
so a comparison can print the reason instead of skipping it silently.

Each wrapper keeps the raw vectors in numpy so that it can (re)build the library's structure
lazily at the first search after an ``add`` (Annoy and ScaNN build once, then are read-only),
and so that ``save``/``load`` stay pickle-free (the structure is rebuilt on load).
``memory_bytes()`` reports the library's own structure, not that numpy copy.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lessonlib.index.base import Index, pad_results

# lessonlib's index metrics (lessonlib.core.similarity.INDEX_METRICS) in each library's own words
_ANNOY_METRICS = {"ip": "dot", "l2": "euclidean"}  # Annoy's euclidean is |q - x|, not squared
_HNSWLIB_SPACES = {"ip": "ip", "l2": "l2"}  # hnswlib: 1 - q.x and |q - x|^2
_SCANN_MEASURES = {"ip": "dot_product", "l2": "squared_l2"}
_NMSLIB_SPACES = {"ip": "negdotprod", "l2": "l2"}  # NMSLIB's hnsw returns -q.x and |q - x|^2


# What PyPI offers for the optional peers, as `pip download --only-binary=:all: --python-version X.Y <name>`
# found it on 2026-12-07 (Python 3.11 x86-64 wheels of both also installed and loaded in a scratch venv).
OPTIONAL_PEERS: dict[str, dict] = {
    "scann": {"version": "1.4.2", "pythons": ("3.11", "3.12", "3.13"), "platform": ("Linux", "x86_64"),
              "wheel": "manylinux_2_27_x86_64"},
    "nmslib": {"version": "2.1.2", "pythons": ("3.11", "3.12", "3.13"), "platform": ("Linux", "x86_64"),
               "wheel": "manylinux2014_x86_64"},
}


def peer_status(name: str, importer: Callable[[str], object] = importlib.import_module, python: str | None = None,
                system: str | None = None, machine: str | None = None) -> str | None:
    """``None`` when the optional library ``name`` (a key of :data:`OPTIONAL_PEERS`) imports, else one line
    saying why it is absent, most specific first:

    * installed but its import fails (a binary built for another CPU or numpy): the exception;
    * not installed, and PyPI has no wheel for this platform (ScaNN, NMSLIB: Linux x86-64 only) or for this
      Python version (``pip install`` would try to build from source);
    * not installed, although a wheel exists: the ``pip install`` command (not a lessonlib dependency).

    ``importer``, ``python`` ("3.11"), ``system`` ("Linux") and ``machine`` ("x86_64") default to this
    interpreter's; tests pass their own.

    >>> peer_status("scann")  # None, or e.g. "not installed (PyPI has scann 1.4.2 wheels for ...)"
    """
    if name not in OPTIONAL_PEERS:
        raise ValueError(f"peer_status(name={name!r}): expected one of {sorted(OPTIONAL_PEERS)}")
    info = OPTIONAL_PEERS[name]
    try:
        importer(name)
        return None
    except ModuleNotFoundError as exc:
        if exc.name not in (None, name):  # the package is there, one of its own imports is not
            return f"installed but does not load (missing module {exc.name!r})"
    except Exception as exc:  # ImportError from a binary that does not load, or anything its import raises
        return f"installed but does not load ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    system, machine = system or platform.system(), machine or platform.machine()
    want_sys, want_machine = info["platform"]
    if (system, machine) != (want_sys, want_machine):
        return (f"not installed: no wheel for this platform ({system} {machine}); PyPI's {name} {info['version']} "
                f"wheels are {want_sys} {want_machine} only")
    if python not in info["pythons"]:
        return (f"not installed: no wheel for Python {python} (PyPI's {name} {info['version']} wheels: "
                f"Python {', '.join(info['pythons'])}); pip would have to build it from source")
    return (f"not installed (PyPI has a {name} {info['version']} {info['wheel']} wheel for Python {python}: "
            f"pip install {name}; not a lessonlib dependency)")


def scann_available() -> bool:
    return peer_status("scann") is None


def nmslib_available() -> bool:
    return peer_status("nmslib") is None


class _Rebuilding(Index):
    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip") -> None:
        super().__init__(dim, metric)
        self.vectors_ = np.zeros((0, dim), np.float32)
        self._built = None

    def _arrays(self) -> dict:
        return {"vectors_": self.vectors_}

    def _set_arrays(self, arrays: dict) -> None:
        self.vectors_, self._built = arrays["vectors_"], None

    def _add(self, x: np.ndarray) -> None:
        self.vectors_ = np.concatenate([self.vectors_, x])
        self._built = None

    def _remove(self, keep: np.ndarray) -> None:
        self.vectors_, self._built = self.vectors_[keep], None

    def build(self) -> "_Rebuilding":
        """Build the library structure now (else it is built at the first search)."""
        if self._built is None:
            self._built = self._build()
        return self

    def _search(self, q: np.ndarray, k: int):
        self.build()
        return self._query(q, k)


class AnnoyIndex(_Rebuilding):
    """Annoy (Bernhardsson 2015): a forest of ``n_trees`` random-projection trees; each split is the
    hyperplane equidistant from two random points. A query walks all trees with a shared priority
    queue and inspects ``search_k`` leaves' points (default n_trees * k). ``"ip"`` uses Annoy's
    ``"dot"`` metric, ``"l2"`` its ``"euclidean"`` (|q - x|, squared and negated into lessonlib's ``"l2"``).
    """

    def __init__(self, dim: int, metric: str = "ip", n_trees: int = 50, search_k: int = -1, seed: int = 0) -> None:
        super().__init__(dim, metric)
        self.n_trees, self.search_k, self.seed = n_trees, search_k, seed

    def _params(self) -> dict:
        return {"n_trees": self.n_trees, "search_k": self.search_k, "seed": self.seed}

    def _build(self):
        from annoy import AnnoyIndex as _Annoy

        a = _Annoy(self.dim, _ANNOY_METRICS[self.metric])
        a.set_seed(self.seed)
        for i, v in enumerate(self.vectors_):
            a.add_item(i, v)
        a.build(self.n_trees, n_jobs=1)
        return a

    def _query(self, q: np.ndarray, k: int):
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        for r, v in enumerate(q):
            ids, dist = self._built.get_nns_by_vector(v, k, search_k=self.search_k, include_distances=True)
            d = np.asarray(dist, np.float32)
            out_i[r, :len(ids)] = ids
            out_s[r, :len(ids)] = d if self.metric == "ip" else -(d ** 2)
        return out_s, out_i

    def memory_bytes(self) -> int:
        self.build()
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "a.ann")
            self._built.save(f)
            size = os.path.getsize(f)
            self._built.unload()
        self._built = None
        return int(size + self._ids.nbytes)


class HnswlibIndex(Index):
    """hnswlib (Malkov & Yashunin 2018, the authors' C++ HNSW): same knobs as ``HNSWIndex``
    (``M``, ``efConstruction``, ``efSearch``); incremental ``add``, ``remove`` marks deleted."""

    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", M: int = 16, efConstruction: int = 40, efSearch: int = 16,
                 seed: int = 0, threads: int = 1) -> None:
        import hnswlib

        super().__init__(dim, metric)
        self.M, self.efConstruction, self.efSearch, self.seed, self.threads = M, efConstruction, efSearch, seed, threads
        self.h = hnswlib.Index(space=_HNSWLIB_SPACES[self.metric], dim=dim)
        self.h.init_index(max_elements=1024, M=M, ef_construction=efConstruction, random_seed=seed, allow_replace_deleted=False)
        self.h.set_ef(efSearch)
        self.h.set_num_threads(threads)
        self._next = 0

    def _params(self) -> dict:
        return {"M": self.M, "efConstruction": self.efConstruction, "efSearch": self.efSearch, "seed": self.seed}

    def set(self, efSearch: int) -> "HnswlibIndex":
        self.efSearch = efSearch
        self.h.set_ef(efSearch)
        return self

    def _add(self, x: np.ndarray) -> None:
        need = self._next + len(x)
        if need > self.h.get_max_elements():
            self.h.resize_index(max(need, 2 * self.h.get_max_elements()))
        self.h.add_items(x, np.arange(self._next, need), num_threads=self.threads)
        self._next = need

    def _remove(self, keep: np.ndarray) -> None:
        # hnswlib labels are positions at insert time; map the kept positions through _labels
        labels = self._labels()
        for lab in labels[~keep]:
            self.h.mark_deleted(int(lab))
        self._label_of = labels[keep]

    def _labels(self) -> np.ndarray:
        return getattr(self, "_label_of", np.arange(self.ntotal))

    def _search(self, q: np.ndarray, k: int):
        self.h.set_ef(max(self.efSearch, k))
        labels, dist = self.h.knn_query(q, k=k, num_threads=self.threads)
        pos = np.searchsorted(self._labels(), labels.astype(np.int64))
        s = (1.0 - dist) if self.metric == "ip" else -dist
        return s.astype(np.float32), pos

    def memory_bytes(self) -> int:
        return int(self.h.index_file_size() + self._ids.nbytes)

    def _arrays(self) -> dict:
        return {"vectors_": np.asarray(self.h.get_items(self._labels().tolist()), np.float32).reshape(-1, self.dim)}

    def _set_arrays(self, arrays: dict) -> None:
        x = arrays["vectors_"]
        self._next = 0
        if len(x):
            self._add(x)


class ScannIndex(_Rebuilding):
    """ScaNN (Guo et al. 2020, "Accelerating large-scale inference with anisotropic vector
    quantization"): a k-means tree (``num_leaves``, ``num_leaves_to_search``), anisotropic PQ
    scoring (``dims_per_block`` dims a 4-bit code), then exact re-scoring of ``reorder`` candidates.
    Needs ``pip install scann`` (Linux x86-64 wheels only)."""

    def __init__(self, dim: int, metric: str = "ip", num_leaves: int = 64, num_leaves_to_search: int = 8,
                 reorder: int = 100, dims_per_block: int = 2, seed: int = 0) -> None:
        if not scann_available():
            raise ImportError("ScannIndex needs the 'scann' package: pip install scann (Linux x86-64)")
        super().__init__(dim, metric)
        self.num_leaves, self.num_leaves_to_search, self.reorder, self.dims_per_block, self.seed = (
            num_leaves, num_leaves_to_search, reorder, dims_per_block, seed)

    def _params(self) -> dict:
        return {"num_leaves": self.num_leaves, "num_leaves_to_search": self.num_leaves_to_search,
                "reorder": self.reorder, "dims_per_block": self.dims_per_block, "seed": self.seed}

    def _build(self):
        import scann

        n = len(self.vectors_)
        b = scann.scann_ops_pybind.builder(self.vectors_, 10, _SCANN_MEASURES[self.metric])
        leaves = max(1, min(self.num_leaves, n // 4))
        b = b.tree(num_leaves=leaves, num_leaves_to_search=min(self.num_leaves_to_search, leaves), training_sample_size=n)
        if self.metric == "ip":
            b = b.score_ah(self.dims_per_block, anisotropic_quantization_threshold=0.2)
        else:
            b = b.score_ah(self.dims_per_block)
        return b.reorder(self.reorder).build()

    def _query(self, q: np.ndarray, k: int):
        ids, dist = self._built.search_batched(q, final_num_neighbors=k, pre_reorder_num_neighbors=max(self.reorder, k))
        ids = ids.astype(np.int64)
        s = dist if self.metric == "ip" else -dist
        ids[~np.isfinite(s)] = -1
        return pad_results(s.astype(np.float32), ids, k)

    def memory_bytes(self) -> int:
        self.build()
        with tempfile.TemporaryDirectory() as tmp:
            self._built.serialize(tmp)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        return int(size + self._ids.nbytes)


class NmslibIndex(_Rebuilding):
    """NMSLIB (Boytsov & Naidan 2013, the Non-Metric Space Library; its ``hnsw`` method is Malkov &
    Yashunin 2018): same knobs as ``HnswlibIndex`` (``M``, ``efConstruction``, ``efSearch``), built once
    from all vectors (rebuilt after an ``add``). ``"ip"`` uses NMSLIB's ``negdotprod`` space (distance −q·x),
    ``"l2"`` its ``l2`` (its hnsw returns |q − x|², negated into lessonlib's ``"l2"``; checked against FlatIndex
    with nmslib 2.1.2).
    Needs ``pip install nmslib`` (see :func:`peer_status`)."""

    def __init__(self, dim: int, metric: str = "ip", M: int = 16, efConstruction: int = 40, efSearch: int = 16,
                 threads: int = 1) -> None:
        why = peer_status("nmslib")
        if why is not None:
            raise ImportError(f"NmslibIndex needs the 'nmslib' package: {why}")
        super().__init__(dim, metric)
        self.M, self.efConstruction, self.efSearch, self.threads = M, efConstruction, efSearch, threads

    def _params(self) -> dict:
        return {"M": self.M, "efConstruction": self.efConstruction, "efSearch": self.efSearch}

    def set(self, efSearch: int) -> "NmslibIndex":
        self.efSearch = efSearch
        if self._built is not None:
            self._built.setQueryTimeParams({"efSearch": efSearch})
        return self

    def _build(self):
        import nmslib

        h = nmslib.init(method="hnsw", space=_NMSLIB_SPACES[self.metric])
        h.addDataPointBatch(self.vectors_)
        h.createIndex({"M": self.M, "efConstruction": self.efConstruction, "post": 0,
                       "indexThreadQty": self.threads}, print_progress=False)
        h.setQueryTimeParams({"efSearch": self.efSearch})
        return h

    def _query(self, q: np.ndarray, k: int):
        self._built.setQueryTimeParams({"efSearch": max(self.efSearch, k)})
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        for r, (ids, dist) in enumerate(self._built.knnQueryBatch(q, k=k, num_threads=self.threads)):
            out_i[r, :len(ids)] = ids
            out_s[r, :len(ids)] = -dist
        return out_s, out_i

    def memory_bytes(self) -> int:
        self.build()
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "h.nmslib")
            self._built.saveIndex(f, save_data=False)
            size = os.path.getsize(f)
        return int(size + self._ids.nbytes)
