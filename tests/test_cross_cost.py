"""Interaction cost: FLOP formula vs FLOPs counted on the real model, timings' shapes, re-ranking cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross.flops import forward_flops, rerank_flops, time_attention, time_forward, transformer_flops


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    return CrossEncoder(device="cpu", max_length=128)


def test_transformer_flops_by_hand():
    lin, quad = transformer_flops(10, hidden=4, intermediate=8, layers=2, batch_size=3)
    assert lin == 2 * 3 * 2 * 10 * (4 * 16 + 2 * 4 * 8)
    assert quad == 4 * 3 * 2 * 100 * 4
    with pytest.raises(ValueError):
        transformer_flops(0, 4, 8, 2)


@pytest.mark.parametrize("seq_len,batch", [(16, 1), (40, 2)])
def test_counted_flops_are_the_formula_plus_pooler_and_head(ce, seq_len, batch):
    cfg = ce.model.config
    h = cfg.hidden_size
    counted = forward_flops(ce, seq_len, batch_size=batch)
    lin, quad = transformer_flops(seq_len, h, cfg.intermediate_size, cfg.num_hidden_layers, batch)
    assert counted == lin + quad + batch * (2 * h * h + 2 * h * 1)  # pooler (h x h) and the 1-logit head


def test_forward_flops_grow_quadratically_and_restore_attention(ce):
    before = ce.model.config._attn_implementation
    f = np.array([forward_flops(ce, t) for t in (32, 64, 128)], dtype=float)
    assert ce.model.config._attn_implementation == before
    second_diff = f[2] - 2 * f[1] + f[0]  # a quadratic's second difference is constant and > 0
    assert second_diff > 0
    with pytest.raises(ValueError):
        forward_flops(ce, 100_000)


def test_timings_have_one_positive_value_per_length(ce):
    t = time_forward(ce, [8, 16], batch_size=1, repeats=1)
    a = time_attention([16, 32], hidden=32, heads=4, repeats=1)
    assert t.shape == (2,) and a.shape == (2,) and (t > 0).all() and (a > 0).all()
    with pytest.raises(ValueError):
        time_attention([8], hidden=30, heads=4)


def test_rerank_flops_cross_is_n_passes_dual_is_one_plus_dots():
    c = rerank_flops(100, 20, 200, hidden=384, intermediate=1536, layers=6)
    per_pair = sum(transformer_flops(223, 384, 1536, 6))
    assert c["cross"] == 100 * per_pair
    assert c["dual"] == sum(transformer_flops(22, 384, 1536, 6)) + 2 * 384 * 100
    assert c["dual_offline"] == 100 * sum(transformer_flops(202, 384, 1536, 6))
    assert c["cross"] > 100 * c["dual"]
