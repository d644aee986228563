"""Multi-level caching in front of a dense retriever: what each level catches on a skewed query
stream, and what it saves in latency. Taught in notebook 07 (Day 10.1 §3.3).

Levels (each an :class:`lessonlib.index.serving.LRUCache`; capacity 0 = the level is off):

- **L1 results, local**: query text -> top-k, in the front-end process. Saves encode + search.
- **L2 embeddings, local**: query text -> query vector. Saves the encoder only, but stays valid
  when the index changes (results do not: result keys carry the index version).
- **L3 results, shared/remote** (memcached / Redis style): one cache for all ``n_frontends``
  processes, reached over the network at ``l3_rtt_ms`` (a stated assumption). Saves encode + search.

A request costs (ms): the local look-ups; on an L1 miss, the L3 round trip; on an L3 miss, the
encoder unless L2 has the vector, then the search; the answer is written to L1 and L3 (the L3 write is
asynchronous, so it adds no latency):

    latency = l1 + [miss L1] (l3_rtt + [miss L3] ([miss L2] encode + search))

Encode and search times are drawn (seeded) from samples the caller *measured*; local look-ups are
timed as they run. Result caching for search engines: Markatos 2001 ("On caching search engine
query results", Computer Communications); two-level result caches and the Zipf-like query
popularity they exploit: Baeza-Yates et al. 2007 ("The impact of caching on search engines", SIGIR).

>>> sim = simulate_cache(stream, encode_ms, search_ms, l1=64, l2=256, l3=1024, l3_rtt_ms=0.5)
>>> sim.hit_rates, sim.latency_ms.mean()
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lessonlib.index.serving import LRUCache

LEVELS = ("L1 results (local)", "L3 results (remote)", "L2 embeddings (local)")


class _Off:
    """A level that is switched off: every look-up misses, nothing is stored."""

    hits = misses = 0

    def get(self, key, default=None):
        self.misses += 1
        return default

    def put(self, key, value) -> None:
        pass


def _level(capacity: int):
    if capacity < 0:
        raise ValueError(f"simulate_cache: cache capacity {capacity} must be >= 0 (0 = level off)")
    return LRUCache(capacity) if capacity else _Off()


@dataclass
class CacheSimulation:
    """Per request: latency (ms) and the level that answered (``"miss"`` = encoder/index ran)."""

    latency_ms: np.ndarray
    served_at: list[str]
    lookups: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    @property
    def hit_rates(self) -> dict[str, float]:
        """Per level: hits / look-ups that reached it (a lower level only sees the upper one's misses)."""
        return {lv: self.hits[lv] / self.lookups[lv] if self.lookups[lv] else 0.0 for lv in LEVELS}

    @property
    def served_share(self) -> dict[str, float]:
        """Share of all requests answered at each level (``"search"`` = needed the index)."""
        n = len(self.served_at)
        return {s: self.served_at.count(s) / n for s in ("L1", "L3", "search")}


def simulate_cache(stream: Sequence[str], encode_ms: np.ndarray, search_ms: np.ndarray, l1: int = 64, l2: int = 256,
                   l3: int = 1024, l3_rtt_ms: float = 0.5, n_frontends: int = 4, update_every: int | None = None,
                   seed: int = 0) -> CacheSimulation:
    """Replay ``stream`` (query texts, in arrival order) through L1/L2/L3 (see the module docstring).

    Requests go round-robin to ``n_frontends`` processes, each with its own L1 and L2; L3 is shared.
    ``update_every`` = the index changes every that many requests (its version goes up, so cached
    results stop matching; cached embeddings stay valid). ``encode_ms`` / ``search_ms``: measured
    per-query times (ms) to draw from. All capacities 0 = no cache.
    """
    encode_ms, search_ms = np.asarray(encode_ms, float), np.asarray(search_ms, float)
    if encode_ms.size == 0 or search_ms.size == 0:
        raise ValueError("simulate_cache: encode_ms and search_ms need at least one measured time each")
    if n_frontends < 1 or l3_rtt_ms < 0 or (update_every is not None and update_every < 1):
        raise ValueError(f"simulate_cache(n_frontends={n_frontends}, l3_rtt_ms={l3_rtt_ms}, update_every={update_every}): "
                         "need n_frontends >= 1, l3_rtt_ms >= 0, update_every >= 1 or None")
    rng = np.random.default_rng(seed)
    enc, sea = rng.choice(encode_ms, len(stream)), rng.choice(search_ms, len(stream))
    l1s, l2s, shared = [_level(l1) for _ in range(n_frontends)], [_level(l2) for _ in range(n_frontends)], _level(l3)
    lookups, hits = dict.fromkeys(LEVELS, 0), dict.fromkeys(LEVELS, 0)
    latency, served = np.zeros(len(stream)), []
    for i, text in enumerate(stream):
        version = i // update_every if update_every else 0
        key, f = (text, version), i % n_frontends
        t0 = time.perf_counter()
        found = l1s[f].get(key)
        cost = (time.perf_counter() - t0) * 1e3
        lookups[LEVELS[0]] += 1
        if found is not None:
            hits[LEVELS[0]] += 1
            latency[i] = cost
            served.append("L1")
            continue
        lookups[LEVELS[1]] += 1
        if shared.get(key) is not None:
            hits[LEVELS[1]] += 1
            l1s[f].put(key, True)
            latency[i] = cost + l3_rtt_ms
            served.append("L3")
            continue
        cost += l3_rtt_ms
        lookups[LEVELS[2]] += 1
        t0 = time.perf_counter()
        vec = l2s[f].get(text)
        cost += (time.perf_counter() - t0) * 1e3
        if vec is not None:
            hits[LEVELS[2]] += 1
        else:
            cost += enc[i]
            l2s[f].put(text, True)
        latency[i] = cost + sea[i]
        l1s[f].put(key, True)
        shared.put(key, True)
        served.append("search")
    return CacheSimulation(latency, served, lookups, hits)
