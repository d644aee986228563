"""Objectives checked against hand computations and direct formula implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lessonlib.losses import ranking as O


def test_softmax_ce_is_minus_log_softmax_of_the_positive():
    z = torch.tensor([[2.0, 0.5, -1.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    expected = -(2.0 - math.log(math.exp(2.0) + math.exp(0.5) + math.exp(-1.0)))
    assert float(O.softmax_ce(z, y)) == pytest.approx(expected, rel=1e-6)


def test_ranknet_matches_pairwise_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5))
    y = rng.integers(0, 3, size=(3, 5)).astype(float)
    total, count = 0.0, 0
    for b in range(3):
        for i, j in itertools.permutations(range(5), 2):
            if y[b, i] > y[b, j]:
                total += math.log(1 + math.exp(-(z[b, i] - z[b, j])))
                count += 1
    got = float(O.ranknet(torch.tensor(z), torch.tensor(y)))
    assert got == pytest.approx(total / count, rel=1e-6)


def test_hinge_by_hand():
    z = torch.tensor([[1.0, 0.5, 3.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    # pairs (0,1): max(0, 1 - 0.5) = 0.5; (0,2): max(0, 1 + 2) = 3
    assert float(O.hinge(z, y)) == pytest.approx(1.75)


def test_listnet_matches_direct_formula():
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(2, 4)), rng.integers(0, 3, size=(2, 4)).astype(float)
    p = np.exp(y) / np.exp(y).sum(1, keepdims=True)
    logq = z - np.log(np.exp(z).sum(1, keepdims=True))
    expected = float(-(p * logq).sum(1).mean())
    assert float(O.listnet(torch.tensor(z), torch.tensor(y))) == pytest.approx(expected, rel=1e-6)


def test_listmle_is_plackett_luce_nll():
    z = np.array([[0.3, 1.2, -0.4]])
    y = torch.tensor([[2.0, 1.0, 0.0]])  # order 0, 1, 2 (no ties)
    s = z[0]
    expected = sum(math.log(sum(math.exp(v) for v in s[i:])) - s[i] for i in range(3))
    assert float(O.listmle(torch.tensor(z), y)) == pytest.approx(expected, rel=1e-6)


def test_bce_with_label_smoothing_by_hand():
    z = torch.tensor([[0.0, 0.0]])
    y = torch.tensor([[1.0, 0.0]])
    # sigmoid(0) = 0.5 whatever the target: loss = log 2
    assert float(O.bce(z, y, label_smoothing=0.2)) == pytest.approx(math.log(2))
    z = torch.tensor([[3.0]])
    t = 1 - 0.1 / 2
    expected = -(t * math.log(1 / (1 + math.exp(-3))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-3))))
    assert float(O.bce(z, torch.tensor([[1.0]]), label_smoothing=0.1)) == pytest.approx(expected, rel=1e-6)


def test_lambda_loss_weights_pairs_by_delta_ndcg():
    z = torch.tensor([[0.0, 1.0]])  # wrong order: doc 0 relevant
    y = torch.tensor([[1.0, 0.0]])
    # one pair, weight |1 - 0| * |1/log2(3) - 1| / 1; ranknet on one pair is log(1+e^1)
    w = 1 - 1 / math.log2(3)
    assert float(O.lambda_loss(z, y)) == pytest.approx(w * math.log(1 + math.e), rel=1e-5)
    # a pair already in the right order at the top costs less than the same pair swapped
    assert float(O.lambda_loss(torch.tensor([[1.0, 0.0]]), y)) < float(O.lambda_loss(z, y))


def test_graded_ce_and_mix_and_errors():
    logits = torch.zeros(1, 2, 3)
    assert float(O.graded_ce(logits, torch.tensor([[0, 2]]))) == pytest.approx(math.log(3))
    loss = O.mix({"softmax_ce": 1.0, "bce": 0.5})
    z, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    assert float(loss(z, y)) == pytest.approx(float(O.softmax_ce(z, y) + 0.5 * O.bce(z, y)))
    with pytest.raises(ValueError, match="get_loss"):
        O.get_loss("nope")
    with pytest.raises(ValueError, match="at least one relevant"):
        O.softmax_ce(z, torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"\(B, n\)"):
        O.ranknet(torch.zeros(3), torch.zeros(3))


def test_losses_decrease_when_positive_score_rises():
    y = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    for name in O.LOSSES:
        if name in ("mse", "listnet"):  # listnet targets softmax(y), not one-hot: it has an interior optimum
            continue
        low = O.get_loss(name)(torch.tensor([[0.0, 0.5, 0.2, 0.1]]), y)
        high = O.get_loss(name)(torch.tensor([[3.0, 0.5, 0.2, 0.1]]), y)
        assert float(high) < float(low), name
