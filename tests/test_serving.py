"""Sharding, replicas, failures and caches: exact when complete, flagged when not."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")
faiss.omp_set_num_threads(1)

from lessonlib.index import FaissIndex, FlatIndex
from lessonlib.index.serving import (QueryEmbeddingCache, FaultyShard, LRUCache, NegativeCache, QueryResultCache, ReplicaSet,
                               SearchResponse, ShardedIndex, ShardUnavailable, faiss_shards, zipf_stream)
from lessonlib.data.synthetic import clustered_queries, clustered_vectors

D = 16
X = clustered_vectors(2000, D, n_clusters=20, seed=5)
Q = clustered_queries(30, D, n_clusters=20, seed=5)
EXACT = FlatIndex(D).add(X).search(Q, 10)


@pytest.mark.parametrize("n_shards", [1, 3, 4])
def test_sharded_search_equals_single_index(n_shards):
    cluster = ShardedIndex.build(X, n_shards, lambda: FlatIndex(D))
    resp = cluster.search(Q, 10)
    assert isinstance(resp, SearchResponse) and not resp.partial and resp.missing_shards == []
    np.testing.assert_array_equal(resp.ids, EXACT[1])
    assert cluster.ntotal == len(X)


def test_faiss_index_shards_agree():
    d, i = faiss_shards(X, 4).search(Q, 10)
    np.testing.assert_array_equal(i, EXACT[1])


def test_failed_shard_is_flagged_never_silent():
    shards = [FlatIndex(D).add(part, ids) for part, ids in zip(np.array_split(X, 4), np.array_split(np.arange(len(X)), 4))]
    shards[2] = FaultyShard(shards[2], fail=True)
    resp = ShardedIndex(shards).search(Q, 10)
    assert resp.partial and resp.missing_shards == [2] and "ConnectionError" in resp.errors[2]
    lost = set(np.array_split(np.arange(len(X)), 4)[2])
    assert not (set(resp.ids.ravel()) & lost)
    with pytest.raises(ShardUnavailable, match="did not answer"):
        ShardedIndex(shards, allow_partial=False).search(Q, 10)


def test_slow_shard_times_out_and_is_flagged():
    shards = [FlatIndex(D).add(X[:1000], np.arange(1000)), FaultyShard(FlatIndex(D).add(X[1000:], np.arange(1000, 2000)), delay_s=0.5)]
    resp = ShardedIndex(shards, timeout_s=0.1).search(Q, 5)
    assert resp.partial and resp.missing_shards == [1] and "timed out" in resp.errors[1]
    assert resp.latency_ms < 400


def test_all_shards_down_raises():
    shards = [FaultyShard(FlatIndex(D).add(X), fail=True)]
    with pytest.raises(ShardUnavailable):
        ShardedIndex(shards).search(Q, 5)


@pytest.mark.parametrize("policy", ["round_robin", "least_loaded"])
def test_replicas_balance_and_fail_over(policy):
    reps = ReplicaSet([FlatIndex(D).add(X) for _ in range(3)], policy=policy)
    for _ in range(30):
        reps.search(Q[:1], 5)
    assert reps.served == [10, 10, 10]
    reps.replicas[1] = FaultyShard(reps.replicas[1], fail=True)
    for _ in range(6):
        resp = reps.search(Q[:1], 5)
        assert resp.served_by != 1
    with pytest.raises(ValueError, match="policy"):
        ReplicaSet([], policy="random")


def test_versioned_updates_propagate():
    reps = ReplicaSet([FlatIndex(D).add(X) for _ in range(2)])
    new = Q[:1] * 1.0
    v = reps.update(lambda ix: ix.add(new, ids=[99999]))
    assert v == 1 and reps.versions == [1, 0]
    resp = reps.search(Q[:1], 1, min_version=1)  # read-your-writes: only the primary qualifies
    assert resp.served_by == 0 and resp.version == 1 and resp.ids[0, 0] == 99999
    reps.propagate()
    assert reps.versions == [1, 1]
    assert all(r.search(Q[:1], 1)[1][0, 0] == 99999 for r in reps.replicas)


def test_lru_cache_and_hit_rate():
    c = LRUCache(2)
    c.put("a", 1), c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)  # evicts b (least recently used)
    assert c.get("b") is None and c.get("c") == 3
    assert c.hits == 2 and c.misses == 1 and abs(c.hit_rate - 2 / 3) < 1e-9


def test_query_cache_hits_on_repeats_and_respects_version():
    index = FaissIndex("Flat", D).add(X)
    version = [0]
    cache = QueryResultCache(index, capacity=100, version=lambda: version[0])
    stream = zipf_stream(30, 300, seed=0)
    for i in stream:
        s, ids = cache.search(Q[i], 5)
        np.testing.assert_array_equal(ids[0], EXACT[1][i, :5])
    assert cache.cache.hits == len(stream) - len(set(stream.tolist()))
    version[0] = 1  # an update: old answers must not be served
    misses = cache.cache.misses
    cache.search(Q[stream[0]], 5)
    assert cache.cache.misses == misses + 1


def test_embedding_and_negative_caches():
    calls = []
    enc = QueryEmbeddingCache(lambda texts: calls.extend(texts) or np.ones((len(texts), 3)), capacity=10)
    enc(["a", "b"]), enc(["a", "c"])
    assert calls == ["a", "b", "c"] and enc.cache.hits == 1
    neg = NegativeCache()
    assert not neg.known_missing("doc-404")
    neg.remember_missing("doc-404")
    assert neg.known_missing("doc-404")
    neg.invalidate("doc-404")
    assert not neg.known_missing("doc-404")
