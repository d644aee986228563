"""Geographic distribution: replicas of one index in several regions, queries routed to the nearest
healthy replica, fail-over when a region is down, simulated latency per user region.

Taught in notebook 07 (Day 10.1 §3.3). A query from a user in region ``u`` served by a replica in
region ``r`` takes

    latency = RTT(u, r) + wait_r + service

where ``service`` is drawn from *measured* per-query search times (the caller measures them on a
real index), ``wait_r`` is the FIFO queueing delay at ``r`` (each replica has ``servers`` workers;
arrivals are Poisson) and RTT is a stated model, not a measurement:

    RTT(u, r) = access_ms + 2 * d(u, r) / fiber_km_per_ms * stretch

d = great-circle distance between the regions' cities (haversine); light in fibre covers about
200 km per ms (refractive index ~1.47); ``stretch`` = how much longer real paths are than the
great circle (Singla et al. 2014, "The Internet at the Speed of Light", HotNets: measured
infrastructure latencies are a small multiple of the speed-of-light bound; 1.5 here is an
assumption). ``access_ms`` is the user's last mile to the nearest data centre (assumed).

>>> rtt = rtt_matrix(REGIONS)
>>> sim = simulate_geo(rtt, users, arrivals_s, service_ms, replicas=[0, 2, 3], policy="nearest")
>>> latency_by_region(sim, [r.name for r in REGIONS])
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lessonlib.index.serving import ShardUnavailable


@dataclass(frozen=True)
class Region:
    """A cloud region named after the city of its data centres (latitude, longitude in degrees)."""

    name: str
    lat: float
    lon: float


# Cities of widely used cloud regions (N. Virginia, Oregon, Ireland, Frankfurt, Singapore, Tokyo, Sao Paulo).
REGIONS: tuple[Region, ...] = (
    Region("us-east", 38.9, -77.4), Region("us-west", 45.6, -121.2), Region("eu-west", 53.3, -6.3),
    Region("eu-central", 50.1, 8.7), Region("ap-southeast", 1.35, 103.8), Region("ap-northeast", 35.7, 139.7),
    Region("sa-east", -23.5, -46.6),
)


def great_circle_km(a: Region, b: Region, earth_radius_km: float = 6371.0) -> float:
    """Haversine distance: 2 R asin(sqrt(sin^2(dphi/2) + cos phi1 cos phi2 sin^2(dlambda/2)))."""
    p1, p2 = np.radians(a.lat), np.radians(b.lat)
    dp, dl = p2 - p1, np.radians(b.lon - a.lon)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * earth_radius_km * np.arcsin(np.sqrt(min(1.0, h))))


def rtt_matrix(regions: Sequence[Region], stretch: float = 1.5, fiber_km_per_ms: float = 200.0,
               access_ms: float = 10.0) -> np.ndarray:
    """(n, n) round-trip times in ms: ``access_ms + 2 d / fiber_km_per_ms * stretch`` (see the module).

    A model with stated assumptions, not a measurement: replace it by a measured matrix (e.g. from
    your provider's inter-region pings) when you have one; every function here takes any matrix.
    """
    if not regions:
        raise ValueError("rtt_matrix(regions=[]): need at least one region")
    if stretch < 1 or fiber_km_per_ms <= 0 or access_ms < 0:
        raise ValueError(f"rtt_matrix(stretch={stretch}, fiber_km_per_ms={fiber_km_per_ms}, access_ms={access_ms}): "
                         "need stretch >= 1, fiber_km_per_ms > 0, access_ms >= 0")
    n = len(regions)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = access_ms + 2 * great_circle_km(regions[i], regions[j]) / fiber_km_per_ms * stretch
    return out


def route(rtt: np.ndarray, user: int, replicas: Sequence[int], down: Sequence[int] = (), policy: str = "nearest") -> int:
    """The region that serves a user: ``"nearest"`` = the healthy replica with the smallest RTT
    (fail-over is the same rule with the down regions removed); ``"single"`` = always ``replicas[0]``
    (one home region). Raises :class:`ShardUnavailable` when no allowed replica is up."""
    if policy not in ("nearest", "single"):
        raise ValueError(f"route(policy={policy!r}): expected 'nearest' or 'single'")
    live = [r for r in (replicas[:1] if policy == "single" else replicas) if r not in set(down)]
    if not live:
        raise ShardUnavailable(f"route(user={user}, policy={policy!r}): no healthy replica among {list(replicas)} (down {list(down)})")
    return min(live, key=lambda r: (rtt[user, r], r))


@dataclass
class GeoSimulation:
    """Per query: the user's region, the serving region, and latency split into RTT, wait, service (ms)."""

    user: np.ndarray
    served_by: np.ndarray
    rtt_ms: np.ndarray
    wait_ms: np.ndarray
    service_ms: np.ndarray

    @property
    def latency_ms(self) -> np.ndarray:
        return self.rtt_ms + self.wait_ms + self.service_ms


def poisson_arrivals(n: int, qps: float, seed: int = 0) -> np.ndarray:
    """Arrival times (s) of ``n`` queries of a Poisson process at ``qps`` queries per second."""
    if n < 1 or qps <= 0:
        raise ValueError(f"poisson_arrivals(n={n}, qps={qps}): need n >= 1 and qps > 0")
    return np.cumsum(np.random.default_rng(seed).exponential(1.0 / qps, n))


def simulate_geo(rtt: np.ndarray, users: np.ndarray, arrivals_s: np.ndarray, service_ms: np.ndarray,
                 replicas: Sequence[int], policy: str = "nearest", down: Sequence[int] = (), servers: int = 1,
                 seed: int = 0) -> GeoSimulation:
    """Discrete-event simulation of geo-replicated serving.

    Query i (user region ``users[i]``, sent at ``arrivals_s[i]``) is routed by :func:`route`; it
    reaches the replica RTT/2 later, waits for the first free of the replica's ``servers`` workers
    (FIFO), is served for a time drawn (seeded) from the measured ``service_ms`` samples, and the
    answer travels RTT/2 back. Returns per-query components; ``latency_ms`` is their sum.
    """
    users, arrivals_s = np.asarray(users, int), np.asarray(arrivals_s, float)
    service_ms = np.asarray(service_ms, float)
    if len(users) != len(arrivals_s):
        raise ValueError(f"simulate_geo: {len(users)} users but {len(arrivals_s)} arrival times")
    if service_ms.size == 0 or (service_ms < 0).any():
        raise ValueError("simulate_geo(service_ms=...): need non-negative measured service times")
    if servers < 1:
        raise ValueError(f"simulate_geo(servers={servers}): need >= 1")
    rng = np.random.default_rng(seed)
    service = rng.choice(service_ms, size=len(users))
    served = np.array([route(rtt, u, replicas, down, policy) for u in users], int)
    rtt_q = rtt[users, served]
    at_replica = arrivals_s * 1e3 + rtt_q / 2
    wait = np.zeros(len(users))
    free = {r: [0.0] * servers for r in set(served.tolist())}  # heap of times each worker is free (ms)
    for i in np.argsort(at_replica, kind="stable"):
        heap = free[served[i]]
        start = max(at_replica[i], heapq.heappop(heap))
        wait[i] = start - at_replica[i]
        heapq.heappush(heap, start + service[i])
    return GeoSimulation(users, served, rtt_q, wait, service)


def latency_by_region(sim: GeoSimulation, names: Sequence[str], percentiles: Sequence[float] = (50, 99)) -> dict[str, tuple]:
    """User region name -> (number of queries, latency percentiles in ms) over its queries."""
    out = {}
    for r, name in enumerate(names):
        lat = sim.latency_ms[sim.user == r]
        if len(lat):
            out[name] = (len(lat), *(float(np.percentile(lat, p)) for p in percentiles))
    return out
