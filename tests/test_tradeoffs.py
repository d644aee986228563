"""lessonlib.evaluation.tradeoffs: Pareto set (against brute force and efficiency.pareto_front), weighted pick, exposure by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation import tradeoffs as T
from lessonlib.evaluation.latency import pareto_front


def test_pareto_mask_matches_two_objective_pareto_front():
    rng = np.random.default_rng(0)
    cost, quality = rng.random(40), rng.random(40)
    mask = T.pareto_mask(np.c_[quality, cost], maximize=[True, False])
    assert sorted(np.flatnonzero(mask)) == sorted(pareto_front(cost, quality).tolist())


def test_pareto_mask_matches_brute_force_in_four_objectives():
    rng = np.random.default_rng(1)
    pts = rng.random((30, 4))
    maximize = [True, False, False, True]
    x = pts * np.where(maximize, 1, -1)
    brute = [not any((x[j] >= x[i]).all() and (x[j] > x[i]).any() for j in range(30)) for i in range(30)]
    assert T.pareto_mask(pts, maximize).tolist() == brute
    assert T.pareto_mask([[1, 1], [1, 1]], [True, True]).tolist() == [True, True]  # ties are kept


def test_weighted_choice_respects_constraints_and_picks_a_pareto_point():
    pts = np.array([[0.80, 10.0], [0.75, 2.0], [0.60, 1.0], [0.50, 5.0]])  # (quality, latency)
    assert T.weighted_choice(pts, [True, False], [1.0, 0.0]) == 0
    assert T.weighted_choice(pts, [True, False], [1.0, 0.0], constraints={1: 3.0}) == 1
    assert T.weighted_choice(pts, [True, False], [0.0, 1.0]) == 2
    assert T.pareto_mask(pts, [True, False])[T.weighted_choice(pts, [True, False], [0.5, 0.5])]
    with pytest.raises(ValueError, match="no system"):
        T.weighted_choice(pts, [True, False], [1, 1], constraints={1: 0.5})


def test_group_exposure_and_disparity_by_hand():
    run = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"c": 5.0, "a": 1.0}}
    groups = {"a": "x", "b": "y", "c": "y"}
    e = {1: 1.0, 2: 1 / np.log2(3), 3: 0.5}
    x = e[1] + e[2]  # a at rank 1 (q1) and rank 2 (q2)
    y = e[2] + e[3] + e[1]
    shares = T.group_exposure(run, groups, k=3)
    assert shares["x"] == pytest.approx(x / (x + y)) and shares["y"] == pytest.approx(y / (x + y))
    assert T.exposure_disparity(run, groups, {"x": 0.5, "y": 0.5}, k=3) == pytest.approx(abs(x / (x + y) - 0.5))
    qrels = {"q1": {"a": 1, "b": 0}, "q2": {"c": 2, "b": 1}}
    assert T.merit_shares(qrels, groups) == pytest.approx({"x": 1 / 3, "y": 2 / 3})


def test_add_and_measure_reports_codes_not_codebooks():
    from lessonlib.index import FlatIndex, PQIndex

    x = np.random.default_rng(2).normal(size=(600, 32)).astype(np.float32)
    assert T.add_and_measure(FlatIndex(32), x) == pytest.approx(4 * 32, abs=16)
    pq = PQIndex(32, M=8, nbits=8)
    per_vec = T.add_and_measure(pq, x)
    assert per_vec < 32 and pq.memory_bytes() / pq.ntotal > 4 * per_vec  # the codebooks dominate the total


def test_measure_index_gives_the_marginal_bytes_the_exact_top_k_and_a_latency():
    from lessonlib.index import FlatIndex

    rng = np.random.default_rng(0)
    docs = rng.normal(size=(50, 8)).astype(np.float32)
    queries = rng.normal(size=(7, 8)).astype(np.float32)
    point = T.measure_index(FlatIndex(8), docs, queries, [f"q{i}" for i in range(7)], [f"d{i}" for i in range(50)],
                            k=5, n_latency=3, warmup=1)
    assert point.bytes_per_vector == T.add_and_measure(FlatIndex(8), docs) >= 4 * 8 and point.p50_ms > 0
    top = np.argsort(-(queries @ docs.T), axis=1)[:, :5]
    for i, row in enumerate(top):
        assert set(point.run[f"q{i}"]) == {f"d{j}" for j in row}
        assert point.run[f"q{i}"][f"d{row[0]}"] == pytest.approx(float(queries[i] @ docs[row[0]]), rel=1e-5)
