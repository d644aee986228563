"""Serving vector search at scale, in one process so it can be measured: document sharding with
query broadcasting and top-k merging, read replicas with load balancing and fail-over, shards that
fail or are slow (timeouts; partial answers are FLAGGED, never silently wrong), versioned updates
that propagate to replicas, and LRU caches (query results, embeddings, negative look-ups).

The "machines" are index objects and the network is a thread pool; the logic (scatter-gather,
merge, time-outs, routing, version checks, caching) is what a real system runs
(see Dean & Barroso 2013, "The Tail at Scale"; FAISS ``IndexShards`` / ``IndexReplicas``).

>>> cluster = ShardedIndex.build(x, n_shards=4, make=lambda: FlatIndex(384), timeout_s=0.05)
>>> resp = cluster.search(q, 10); resp.partial, resp.missing_shards
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from lessonlib.core.similarity import faiss_metric
from lessonlib.index.base import as_matrix, check_k, check_metric, merge_topk, pad_results


class ShardUnavailable(RuntimeError):
    """Raised when shards are missing and the caller asked for complete answers only."""


@dataclass
class SearchResponse:
    """Results plus what a caller must know to trust them.

    ``partial`` is True when some shard did not answer (error or time-out): the results are then
    the best among the documents that *were* searched, and ``missing_shards`` says which part of
    the corpus is absent. ``version`` is the index version the answer reflects (replicas)."""

    scores: np.ndarray
    ids: np.ndarray
    partial: bool = False
    missing_shards: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    version: int | None = None
    served_by: int | None = None
    from_cache: bool = False


class FaultyShard:
    """Wrap an index to simulate a failing (``fail=True``) or slow (``delay_s``) machine."""

    def __init__(self, index, fail: bool = False, delay_s: float = 0.0) -> None:
        self.index, self.fail, self.delay_s = index, fail, delay_s

    def search(self, q, k):
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("shard unreachable (simulated)")
        return self.index.search(q, k)

    def __getattr__(self, name):
        return getattr(self.index, name)


class ShardedIndex:
    """Document sharding: shard s holds a disjoint part of the corpus (with global ids); a query is
    broadcast to every shard in parallel, each returns its local top-k, and the k best of the
    S*k candidates are the global top-k (exact whenever every shard answered)."""

    def __init__(self, shards: Sequence, timeout_s: float | None = None, allow_partial: bool = True,
                 workers: int | None = None) -> None:
        if not shards:
            raise ValueError("ShardedIndex(shards=[]): need at least one shard")
        self.shards = list(shards)
        self.timeout_s, self.allow_partial = timeout_s, allow_partial
        self._pool = ThreadPoolExecutor(workers or len(self.shards))

    @classmethod
    def build(cls, x: np.ndarray, n_shards: int, make: Callable[[], object], ids: np.ndarray | None = None,
              train: bool = True, **kwargs) -> "ShardedIndex":
        """Split ``x`` into ``n_shards`` contiguous parts, each in its own ``make()`` index (global ids kept)."""
        if n_shards < 1:
            raise ValueError(f"ShardedIndex.build(n_shards={n_shards}): need >= 1")
        ids = np.arange(len(x), dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        shards = []
        for part in np.array_split(np.arange(len(x)), n_shards):
            idx = make()
            if train and not idx.is_trained:
                idx.train(x[part])
            shards.append(idx.add(x[part], ids[part]))
        return cls(shards, **kwargs)

    @property
    def ntotal(self) -> int:
        return sum(s.ntotal for s in self.shards)

    def search(self, queries, k: int) -> SearchResponse:
        k = check_k(k)
        q = as_matrix(queries, None, name="queries", where="search")
        t0 = time.perf_counter()
        futures = {self._pool.submit(s.search, q, k): i for i, s in enumerate(self.shards)}
        done, not_done = wait(futures, timeout=self.timeout_s)
        best_s = np.full((len(q), 0), -np.inf, np.float32)
        best_i = np.zeros((len(q), 0), np.int64)
        missing, errors = [], {}
        for f in futures:
            i = futures[f]
            if f in not_done:
                missing.append(i)
                errors[i] = f"timed out after {self.timeout_s}s"
                f.cancel()
                continue
            try:
                s, ids = f.result()
            except Exception as exc:  # a shard that errors is reported, never hidden
                missing.append(i)
                errors[i] = f"{type(exc).__name__}: {exc}"
                continue
            best_s, best_i = merge_topk(best_s, best_i, s, ids, k)
        missing.sort()
        if missing and (not self.allow_partial or len(missing) == len(self.shards)):
            raise ShardUnavailable(f"search: shards {missing} did not answer ({errors}); results would be incomplete")

        best_s, best_i = pad_results(best_s, best_i, k)
        return SearchResponse(best_s, best_i, partial=bool(missing), missing_shards=missing, errors=errors,
                              latency_ms=(time.perf_counter() - t0) * 1e3)


def faiss_shards(x: np.ndarray, n_shards: int, factory: str = "Flat", metric: str = "ip"):
    """The same scatter-gather in FAISS: ``faiss.IndexShards`` over ``n_shards`` sub-indexes
    (ids are global because ``successive_ids`` offsets each shard). Returns the FAISS object."""
    import faiss

    metric_id = faiss_metric(check_metric(metric, "faiss_shards"))
    d = x.shape[1]
    shards = faiss.IndexShards(d, True, True)  # threaded, successive_ids
    subs = []
    for part in np.array_split(np.arange(len(x)), n_shards):
        sub = faiss.index_factory(d, factory, metric_id)
        if not sub.is_trained:
            sub.train(np.ascontiguousarray(x[part]))
        sub.add(np.ascontiguousarray(x[part]))
        subs.append(sub)
        shards.add_shard(sub)
    return shards


class ReplicaSet:
    """Read replicas: identical copies of an index; each query goes to ONE replica chosen by
    ``policy`` (``"round_robin"`` or ``"least_loaded"`` = fewest queries in flight). A replica that
    errors is skipped (fail-over to the next). Updates are versioned: ``update(fn)`` applies to the
    primary (replica 0) at once and is queued for the others; ``propagate()`` delivers the queue
    (eventual consistency). ``search(..., min_version=v)`` only uses replicas at version >= v
    (read-your-writes); every response carries the version it reflects."""

    def __init__(self, replicas: Sequence, policy: str = "round_robin") -> None:
        if policy not in ("round_robin", "least_loaded"):
            raise ValueError(f"ReplicaSet(policy={policy!r}): expected 'round_robin' or 'least_loaded'")
        self.replicas, self.policy = list(replicas), policy
        self.in_flight = [0] * len(self.replicas)
        self.served = [0] * len(self.replicas)
        self.versions = [0] * len(self.replicas)
        self.log: list[Callable] = []  # update i brings an index from version i to i + 1
        self._rr = itertools.count()
        self._lock = threading.Lock()
        self.down: set[int] = set()

    def update(self, fn: Callable[[object], object]) -> int:
        """Apply ``fn(index)`` (e.g. ``lambda ix: ix.add(v, ids)``) to the primary now; returns the new version."""
        with self._lock:
            self.log.append(fn)
            fn(self.replicas[0])
            self.versions[0] = len(self.log)
            return self.versions[0]

    def propagate(self, replica: int | None = None) -> None:
        """Deliver pending updates (to one replica, or all): replays the log from its version."""
        targets = range(1, len(self.replicas)) if replica is None else [replica]
        for r in targets:
            while self.versions[r] < len(self.log):
                self.log[self.versions[r]](self.replicas[r])
                self.versions[r] += 1

    def _order(self, eligible: list[int]) -> list[int]:
        if self.policy == "least_loaded":
            return sorted(eligible, key=lambda r: (self.in_flight[r], self.served[r]))
        start = next(self._rr) % len(eligible)
        return eligible[start:] + eligible[:start]

    def search(self, queries, k: int, min_version: int = 0) -> SearchResponse:
        with self._lock:
            eligible = [r for r in range(len(self.replicas)) if self.versions[r] >= min_version and r not in self.down]
            if not eligible:
                raise ShardUnavailable(f"search(min_version={min_version}): no live replica has that version "
                                       f"(versions {self.versions}, down {sorted(self.down)})")
            order = self._order(eligible)
        errors = {}
        for r in order:
            with self._lock:
                self.in_flight[r] += 1
            t0 = time.perf_counter()
            try:
                s, i = self.replicas[r].search(queries, k)
            except Exception as exc:
                errors[r] = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                with self._lock:
                    self.in_flight[r] -= 1
            with self._lock:
                self.served[r] += 1
            return SearchResponse(s, i, latency_ms=(time.perf_counter() - t0) * 1e3, version=self.versions[r],
                                  served_by=r, errors=errors)
        raise ShardUnavailable(f"search: every eligible replica failed: {errors}")


class LRUCache:
    """Least-recently-used cache with hit/miss counters (``hit_rate``)."""

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"LRUCache(capacity={capacity}): need >= 1")
        self.capacity, self.hits, self.misses = capacity, 0, 0
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return default

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def clear(self) -> None:
        self._data.clear()


def _key(vector: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(vector, np.float32).tobytes(), digest_size=16).hexdigest()


class QueryResultCache:
    """Caches (query vector, k, index version) -> results in front of any searcher. Keying by version
    means an update never serves a stale answer: old entries just stop matching."""

    def __init__(self, searcher, capacity: int = 1024, version: Callable[[], int] | None = None) -> None:
        self.searcher, self.cache = searcher, LRUCache(capacity)
        self.version = version or (lambda: 0)

    def search(self, query: np.ndarray, k: int):
        key = (_key(query), k, self.version())
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        out = self.searcher.search(np.asarray(query, np.float32).reshape(1, -1), k)
        self.cache.put(key, out)
        return out


class QueryEmbeddingCache:
    """text -> embedding, so repeated queries skip the encoder (the most expensive step on CPU)."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], capacity: int = 10000) -> None:
        self.encode, self.cache = encode, LRUCache(capacity)

    def __call__(self, texts: list[str]) -> np.ndarray:
        found = [self.cache.get(t) for t in texts]
        missing = [t for t, v in zip(texts, found) if v is None]
        if missing:
            for t, v in zip(missing, self.encode(missing)):
                self.cache.put(t, v)
        return np.stack([self.cache._data[t] if f is None else f for t, f in zip(texts, found)])


class NegativeCache:
    """Remembers look-ups that found nothing (e.g. a document id that does not exist, a query with
    no result above a threshold) so the expensive miss is not repeated; entries are LRU-evicted and
    must be invalidated when an update could make them exist."""

    def __init__(self, capacity: int = 10000) -> None:
        self.cache = LRUCache(capacity)

    def known_missing(self, key) -> bool:
        return self.cache.get(key) is not None

    def remember_missing(self, key) -> None:
        self.cache.put(key, True)

    def invalidate(self, key) -> None:
        self.cache._data.pop(key, None)


def zipf_stream(n_distinct: int, n: int, a: float = 1.1, seed: int = 0) -> np.ndarray:
    """Query ids drawn with Zipf-like popularity (a few queries are very frequent: caches work)."""
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, n_distinct + 1) ** a
    return rng.choice(n_distinct, size=n, p=w / w.sum())
