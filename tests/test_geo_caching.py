"""Geographic routing / queueing (lessonlib.index.geo) and multi-level caching (lessonlib.index.caching)."""

import numpy as np
import pytest

from lessonlib.index.caching import LEVELS, simulate_cache
from lessonlib.index.geo import (
    REGIONS,
    GeoSimulation,
    Region,
    great_circle_km,
    latency_by_region,
    poisson_arrivals,
    route,
    rtt_matrix,
    simulate_geo,
)
from lessonlib.index.serving import ShardUnavailable, zipf_stream


def test_great_circle_matches_known_distances():
    london, paris = Region("london", 51.5074, -0.1278), Region("paris", 48.8566, 2.3522)
    assert great_circle_km(london, paris) == pytest.approx(343.5, abs=2)  # the textbook haversine figure
    assert great_circle_km(Region("a", 0, 0), Region("b", 0, 180)) == pytest.approx(np.pi * 6371.0)


def test_rtt_matrix_is_symmetric_with_access_time_on_diagonal():
    rtt = rtt_matrix(REGIONS, stretch=1.5, access_ms=10)
    assert np.allclose(rtt, rtt.T) and np.allclose(np.diag(rtt), 10)
    d = great_circle_km(REGIONS[0], REGIONS[2])
    assert rtt[0, 2] == pytest.approx(10 + 2 * d / 200 * 1.5)
    with pytest.raises(ValueError, match="stretch"):
        rtt_matrix(REGIONS, stretch=0.5)


def test_route_nearest_fails_over_and_single_region_has_no_fallback():
    rtt = rtt_matrix(REGIONS)
    names = [r.name for r in REGIONS]
    eu, us, ap = names.index("eu-west"), names.index("us-east"), names.index("ap-southeast")
    assert route(rtt, eu, [us, eu, ap]) == eu
    assert route(rtt, eu, [us, eu, ap], down=[eu]) == us  # Ireland -> Virginia is nearer than -> Singapore
    assert route(rtt, eu, [us, eu, ap], policy="single") == us
    with pytest.raises(ShardUnavailable):
        route(rtt, eu, [us, eu, ap], down=[us], policy="single")
    with pytest.raises(ValueError, match="policy"):
        route(rtt, eu, [us], policy="closest")


def _lindley(arrivals_ms, service):
    """Reference: single FIFO server, W_{n+1} = max(0, W_n + S_n - (A_{n+1} - A_n))."""
    w = [0.0]
    for n in range(1, len(arrivals_ms)):
        w.append(max(0.0, w[-1] + service[n - 1] - (arrivals_ms[n] - arrivals_ms[n - 1])))
    return np.array(w)


def test_one_server_queue_equals_lindley_recursion():
    arr = poisson_arrivals(500, qps=800, seed=3)
    users = np.zeros(500, int)
    rtt = np.array([[0.0]])
    sim = simulate_geo(rtt, users, arr, np.array([0.5, 1.0, 2.0]), replicas=[0], seed=1)
    assert np.allclose(sim.wait_ms, _lindley(arr * 1e3, sim.service_ms))
    assert sim.wait_ms.max() > 0  # at 800 qps and ~1.2 ms service the server is busy: queueing happens


def test_more_servers_never_wait_longer_and_latency_adds_up():
    arr = poisson_arrivals(400, qps=1500, seed=0)
    users = np.random.default_rng(0).integers(3, size=400)
    rtt = rtt_matrix(REGIONS[:3])
    one = simulate_geo(rtt, users, arr, np.array([1.0]), replicas=[0], policy="single")
    two = simulate_geo(rtt, users, arr, np.array([1.0]), replicas=[0], policy="single", servers=2)
    assert two.wait_ms.sum() <= one.wait_ms.sum()
    assert np.allclose(one.latency_ms, one.rtt_ms + one.wait_ms + one.service_ms)
    table = latency_by_region(one, [r.name for r in REGIONS[:3]])
    assert sum(v[0] for v in table.values()) == 400


def test_geo_bad_input():
    with pytest.raises(ValueError, match="arrival"):
        simulate_geo(np.zeros((1, 1)), [0, 0], [0.0], [1.0], replicas=[0])
    with pytest.raises(ValueError, match="qps"):
        poisson_arrivals(10, 0)
    assert isinstance(simulate_geo(np.zeros((1, 1)), [0], [0.0], [1.0], replicas=[0]), GeoSimulation)


def _reference_lru_hits(stream, capacity):
    cache, hits = [], 0
    for key in stream:
        if key in cache:
            hits += 1
            cache.remove(key)
        cache.append(key)
        if len(cache) > capacity:
            cache.pop(0)
    return hits


def test_l1_alone_hits_like_a_reference_lru():
    stream = [f"q{i}" for i in zipf_stream(50, 2000, a=1.1, seed=0)]
    sim = simulate_cache(stream, [10.0], [1.0], l1=8, l2=0, l3=0, n_frontends=1)
    assert sim.hits[LEVELS[0]] == _reference_lru_hits(stream, 8)
    assert sim.served_share["L1"] == pytest.approx(_reference_lru_hits(stream, 8) / 2000)


def test_no_cache_costs_encode_plus_search_plus_nothing_else():
    stream = ["a", "b", "a", "a"]
    sim = simulate_cache(stream, [10.0], [2.0], l1=0, l2=0, l3=0, l3_rtt_ms=0.0)
    assert sim.served_share["search"] == 1.0
    assert np.allclose(sim.latency_ms, 12.0, atol=0.5)


def test_l3_is_shared_across_frontends_and_costs_its_round_trip():
    # two front-ends: request 1 (front-end 1) misses its own L1 but finds front-end 0's answer in L3
    sim = simulate_cache(["x", "x"], [10.0], [2.0], l1=4, l2=4, l3=4, l3_rtt_ms=0.5, n_frontends=2)
    assert sim.served_at == ["search", "L3"]
    assert sim.latency_ms[1] == pytest.approx(0.5, abs=0.2)


def test_index_update_invalidates_results_but_not_embeddings():
    sim = simulate_cache(["x", "x"], [10.0], [2.0], l1=4, l2=4, l3=4, l3_rtt_ms=0.5, n_frontends=1, update_every=1)
    assert sim.served_at == ["search", "search"]
    assert sim.hits[LEVELS[2]] == 1  # the second request skipped the encoder
    assert sim.latency_ms[1] == pytest.approx(0.5 + 2.0, abs=0.2)


def test_cache_bad_input():
    with pytest.raises(ValueError, match="capacity"):
        simulate_cache(["a"], [1.0], [1.0], l1=-1)
    with pytest.raises(ValueError, match="encode_ms"):
        simulate_cache(["a"], [], [1.0])
