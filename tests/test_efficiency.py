"""lessonlib.evaluation.latency: latency percentiles, throughput, Pareto front."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lessonlib.evaluation.latency import LatencyReport, measure_latency, measure_throughput, pareto_front


def test_latency_report_summary_by_hand():
    report = LatencyReport(np.arange(1, 101, dtype=float))  # 1..100 ms
    s = report.summary()
    assert s["p50_ms"] == pytest.approx(50.5) and s["p99_ms"] == pytest.approx(99.01)
    assert report.qps == pytest.approx(100 / 5.05)


def test_measure_latency_times_each_call():
    report = measure_latency(lambda q: time.sleep(q), [0.002, 0.02], warmup=0)
    assert report.per_query_ms[1] > report.per_query_ms[0]
    assert report.per_query_ms[1] >= 19


def test_measure_throughput_counts_queries():
    calls = []
    qps = measure_throughput(lambda batch: calls.append(len(batch)), list(range(10)), batch_size=4)
    assert calls == [4, 4, 2] and qps > 0


def test_pareto_front():
    cost = [1.0, 2.0, 3.0, 2.5, 0.5]
    quality = [0.5, 0.7, 0.8, 0.6, 0.4]
    assert list(pareto_front(cost, quality)) == [4, 0, 1, 2]  # (2.5, 0.6) is dominated by (2.0, 0.7)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="at least one query"):
        measure_latency(lambda q: q, [])
    with pytest.raises(ValueError, match="batch_size"):
        measure_throughput(lambda b: b, [1], batch_size=0)
