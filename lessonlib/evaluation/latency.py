"""Efficiency measurements: per-query latency percentiles, throughput, and the quality/latency Pareto front.

Latency is wall-clock time per call (``time.perf_counter``); tail latency is the 95th / 99th
percentile (what users notice, Dean & Barroso, 2013). Throughput (QPS) is queries divided by the
total time of the timed calls; batching raises QPS without changing single-query latency.

>>> report = measure_latency(lambda q: sum(range(1000)), ["a", "b", "c"], warmup=0)
>>> report.n
3
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class LatencyReport:
    """Per-query latencies (ms) and their summary."""

    per_query_ms: np.ndarray

    @property
    def n(self) -> int:
        return int(self.per_query_ms.size)

    @property
    def total_s(self) -> float:
        return float(self.per_query_ms.sum() / 1000)

    @property
    def qps(self) -> float:
        return self.n / self.total_s if self.total_s > 0 else float("inf")

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.per_query_ms, q))

    def summary(self) -> dict[str, float]:
        """``{"mean_ms", "p50_ms", "p95_ms", "p99_ms", "qps"}``."""
        return {
            "mean_ms": float(self.per_query_ms.mean()),
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "qps": self.qps,
        }


def measure_latency(fn: Callable[[object], object], queries: Sequence, warmup: int = 3) -> LatencyReport:
    """Call ``fn(query)`` once per query (after ``warmup`` untimed calls) and time each call."""
    if len(queries) == 0:
        raise ValueError("measure_latency(queries=[]): need at least one query")
    for q in list(queries)[:warmup]:
        fn(q)
    times = np.empty(len(queries))
    for i, q in enumerate(queries):
        start = time.perf_counter()
        fn(q)
        times[i] = (time.perf_counter() - start) * 1000
    return LatencyReport(times)


def measure_throughput(fn: Callable[[Sequence], object], queries: Sequence, batch_size: int = 64) -> float:
    """Queries per second when ``fn`` receives batches of ``batch_size`` queries."""
    if batch_size < 1:
        raise ValueError(f"measure_throughput(batch_size={batch_size}): must be >= 1")
    if len(queries) == 0:
        raise ValueError("measure_throughput(queries=[]): need at least one query")
    start = time.perf_counter()
    for i in range(0, len(queries), batch_size):
        fn(queries[i : i + batch_size])
    elapsed = time.perf_counter() - start
    return len(queries) / elapsed if elapsed > 0 else float("inf")


def pareto_front(cost: Sequence[float], quality: Sequence[float]) -> np.ndarray:
    """Indices of the systems no other system beats on both axes (lower cost, higher quality).

    Returned in order of increasing cost. Shapes: cost (n,), quality (n,) -> indices (m,).
    """
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    if cost.shape != quality.shape or cost.ndim != 1:
        raise ValueError(f"pareto_front: cost and quality must be 1-D of one length, got {cost.shape}, {quality.shape}")
    order = np.lexsort((-quality, cost))  # by cost, then best quality first
    front, best = [], -np.inf
    for i in order:
        if quality[i] > best:
            front.append(i)
            best = quality[i]
    return np.array(front, dtype=np.int64)


def plot_pareto(ax, names: Sequence[str], cost: Sequence[float], quality: Sequence[float],
                xlabel: str = "latency per query (ms, p50)", ylabel: str = "nDCG@10", logx: bool = True):
    """Scatter systems on ``ax``, label them, and draw the Pareto front. Returns the front's indices."""
    front = pareto_front(cost, quality)
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    ax.scatter(cost, quality, color="tab:blue", zorder=3)
    for name, x, y in zip(names, cost, quality):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.step(cost[front], quality[front], where="post", color="tab:red", label="Pareto front")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Quality vs latency")
    ax.legend(loc="lower right")
    return front
