"""Optimisation probes: objective gradients by hand, collapse statistics, label-smoothing optimum,
gradient accumulation == one big batch, dropout, bf16."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross.data import Group
from lessonlib.losses.ranking import bce, get_loss, softmax_ce
from lessonlib.core.trainer import set_dropout
from lessonlib.cross.optim import (
    accumulated_gradient, bf16_agreement, dropout_spread, list_statistics, objective_gradients,
    smoothed_optimum,
)

GROUPS = [
    Group("q1", "vitamin d lowers fracture risk", ["Vitamin D reduces hip fracture.", "Cats sleep.", "Rain falls."], [1, 0, 0]),
    Group("q2", "aspirin prevents stroke", ["Aspirin lowers stroke risk.", "Bees fly.", "Stocks rose."], [1, 0, 0]),
    Group("q3", "statins cause muscle pain", ["Statin myalgia is common.", "Tea is hot.", "Snow is cold."], [1, 0, 0]),
    Group("q4", "smoking causes lung cancer", ["Tobacco smoke and lung cancer.", "Dogs bark.", "Sun is up."], [1, 0, 0]),
]


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    return CrossEncoder(device="cpu", max_length=32, max_query_length=12)


def test_objective_gradients_match_the_formulas_by_hand():
    z = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    y = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    out = objective_gradients(z, y)
    p = torch.softmax(z, -1).numpy()
    assert np.allclose(out["softmax_ce"]["grad"], (p - y.numpy()) / 2, atol=1e-6)
    sig = torch.sigmoid(z).numpy()
    assert np.allclose(out["bce"]["grad"], (sig - y.numpy()) / 6, atol=1e-6)
    for name in ("bce", "ranknet", "hinge", "softmax_ce", "listnet", "lambda"):
        assert np.isclose(out[name]["value"], float(get_loss(name)(z, y)), atol=1e-6)
    assert out["hinge"]["grad"][0, 2] == 0.0  # margin 1 already met by 2.0 - (-1.0): no push on that pair
    with pytest.raises(ValueError):
        objective_gradients(z[0], y[0])


class _Fixed:
    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float32)

    def score(self, pairs, batch_size=64):
        assert len(pairs) == self.values.size
        return self.values.ravel()


def test_list_statistics_by_hand_and_bf16_ties_of_near_constant_scores():
    groups = GROUPS[:2]
    stats = list_statistics(_Fixed([[3.0, 1.0, 2.0], [0.0, 1.0, -1.0]]), groups)
    assert np.isclose(stats["mean"], 1.0) and np.isclose(stats["gap"], ((3 - 1.5) + (0 - 0)) / 2)
    assert np.isclose(stats["spread"], np.mean([np.std([3, 1, 2]), np.std([0, 1, -1])]))
    assert stats["pos_first"] == 0.5 and stats["bf16_ties"] == 0.0
    collapsed = list_statistics(_Fixed([[-1.946, -1.947, -1.9455], [-1.95, -1.951, -1.949]]), groups)
    assert collapsed["bf16_ties"] == 1.0 and collapsed["spread"] < 1e-3  # bf16 keeps 8 bits: 1.946 ~ 1.947


def test_smoothed_optimum_is_the_numerical_minimiser():
    eps = 0.1
    grid = torch.linspace(0, 10, 20001)
    bce_vals = torch.stack([bce(g.view(1, 1), torch.ones(1, 1), label_smoothing=eps) for g in grid])
    assert abs(float(grid[bce_vals.argmin()]) - smoothed_optimum(eps)) < 2e-3
    n = 4
    scores = torch.stack([torch.cat([g.view(1), torch.zeros(n - 1)]) for g in grid])
    ce_vals = torch.stack([softmax_ce(s.view(1, -1), torch.tensor([[1.0, 0, 0, 0]]), label_smoothing=eps) for s in scores])
    assert abs(float(grid[ce_vals.argmin()]) - smoothed_optimum(eps, n)) < 2e-3
    assert smoothed_optimum(0.0) == float("inf")
    with pytest.raises(ValueError):
        smoothed_optimum(1.0)


def test_accumulated_gradient_equals_the_full_batch_gradient(ce):
    ce.model.eval()  # no dropout: the two computations see the same function
    full = accumulated_gradient(ce, GROUPS, micro_batch=4)
    accum = accumulated_gradient(ce, GROUPS, micro_batch=2)
    assert full.norm() > 0
    assert torch.allclose(full, accum, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError):
        accumulated_gradient(ce, GROUPS, micro_batch=0)


def test_dropout_rate_controls_the_spread_of_training_mode_scores(ce):
    pairs = [(g.query, g.docs[0]) for g in GROUPS]
    previous = set_dropout(ce.model, 0.0)
    assert dropout_spread(ce, pairs) < 1e-6
    set_dropout(ce.model, 0.3)
    assert dropout_spread(ce, pairs) > 1e-4
    for m, p in zip([m for m in ce.model.modules() if isinstance(m, torch.nn.Dropout)], previous):
        m.p = p
    with pytest.raises(ValueError):
        set_dropout(ce.model, 1.5)


def test_bf16_scores_rank_like_fp32(ce):
    pairs = [(g.query, d) for g in GROUPS for d in g.docs]
    out = bf16_agreement(ce, pairs)
    assert out["spearman"] > 0.8 and out["max_abs_diff"] < 0.5 and out["distinct_fp32"] >= out["distinct_bf16"] >= 1
