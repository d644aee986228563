"""Sparse attention masks: builders against loops, application to MiniLM, top-k attention, FLOPs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross import sparse_attention as sa
from lessonlib.cross.efficiency import prune_layers
from lessonlib.cross.pooled import PooledCrossEncoder

QUERIES = ["does vitamin d reduce fracture risk", "statins lower cholesterol in adults"]
DOCS = ["Vitamin D supplementation was associated with fewer hip fractures in older adults in a large trial.",
        "Statin therapy reduced LDL cholesterol by a third."]


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    model = prune_layers(CrossEncoder(device="cpu", max_length=64, max_query_length=16, overflow="truncate"), 2)
    torch.nn.init.normal_(model.model.classifier.weight, std=0.5)  # a head that reacts to its input
    return model


@pytest.fixture(scope="module")
def pooled():
    return prune_layers(PooledCrossEncoder(device="cpu", max_length=64, max_query_length=16, overflow="truncate"), 2)


def test_local_and_strided_masks_match_loops():
    n = 9
    local = sa.local_mask(n, 2)
    strided = sa.strided_mask(n, 3)
    for i in range(n):
        for j in range(n):
            assert bool(local[i, j]) == (abs(i - j) <= 2)
            assert bool(strided[i, j]) == ((i - j) % 3 == 0)


def test_random_mask_has_r_keys_plus_self_and_is_seeded():
    m = sa.random_mask(12, 4, seed=1)
    assert torch.equal(m.sum(1), torch.full((12,), 5))
    assert bool(m.diagonal().all())
    assert torch.equal(m, sa.random_mask(12, 4, seed=1))
    assert not torch.equal(m, sa.random_mask(12, 4, seed=2))


def test_pattern_mask_never_attends_to_padding_and_query_is_global():
    am = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0]])
    tt = torch.tensor([[0, 0, 0, 1, 1, 1, 0, 0]])  # [CLS] q [SEP] | d d [SEP] | pad pad
    m = sa.pattern_mask("local", am, tt, window=0, global_tokens="query")[0]
    assert torch.equal(m[:, 6:], torch.eye(8, dtype=torch.bool)[:, 6:])  # padding keys: only their own row
    assert m[:3, :6].all() and m[:6, :3].all()  # query rows and columns are global
    assert not m[3, 4] and not m[4, 5]  # doc tokens see only themselves and the query
    # density by hand: 6 real tokens, 36 real pairs; allowed = 3 global rows * 6 + 3 doc rows * (3 + 1) = 30
    assert sa.density(m[None], am) == pytest.approx(30 / 36)
    none = sa.pattern_mask("local", am, tt, window=0, global_tokens="none")
    assert sa.density(none, am) == pytest.approx(6 / 36)


def test_bad_arguments_are_refused():
    am = torch.ones(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="pattern"):
        sa.pattern_mask("dilated", am)
    with pytest.raises(ValueError, match="token_type_ids"):
        sa.pattern_mask("local", am, None, global_tokens="query")
    with pytest.raises(ValueError, match="window"):
        sa.local_mask(4, -1)


@pytest.mark.parametrize("model_name", ["ce", "pooled"])
def test_full_pattern_and_covering_windows_equal_plain_scores(model_name, request):
    model = request.getfixturevalue(model_name)
    plain = model.score(list(zip(QUERIES, DOCS)), overflow="truncate")
    for pattern, knobs in [("full", {}), ("local", {"window": 500}), ("strided", {"stride": 1}), ("topk", {"topk": 500})]:
        out = sa.sparse_scores(model, QUERIES, DOCS, pattern, **knobs)
        np.testing.assert_allclose(out.scores, plain, rtol=1e-4, atol=1e-4, err_msg=pattern)
        assert out.density == pytest.approx(1.0)
    sparse = sa.sparse_scores(model, QUERIES, DOCS, "local", window=1, global_tokens="none")
    assert sparse.density < 0.5
    assert not np.allclose(sparse.scores, plain, atol=1e-4)


def test_a_masked_token_cannot_influence_cls(ce):
    """1 layer, window 2, no global tokens: [CLS] (position 0) sees positions 0..2 only."""
    one = prune_layers(ce, 1)
    q, d1, d2 = "heart attack", "aspirin reduces the risk of stroke", "aspirin reduces the risk of cancer"
    local = sa.sparse_scores(one, [q, q], [d1, d2], "local", window=2, global_tokens="none").scores
    full = sa.sparse_scores(one, [q, q], [d1, d2], "full").scores
    assert local[0] == pytest.approx(local[1], abs=1e-6)  # the changed word is far from [CLS]
    assert abs(full[0] - full[1]) > 1e-4  # with full attention it matters


def test_topk_attention_matches_a_reference_computation():
    torch.manual_seed(0)
    b, h, n, d, k = 2, 3, 7, 4, 3
    q, key, v = torch.randn(b, h, n, d), torch.randn(b, h, n, d), torch.randn(b, h, n, d)

    class Module(torch.nn.Module):
        class config:
            lessonlib_topk = k

    out, w = sa.topk_attention_forward(Module().eval(), q, key, v, None, scaling=0.5)
    logits = (q @ key.transpose(2, 3) * 0.5).numpy()
    ref = np.zeros((b, h, n, d))
    for bi in range(b):
        for hi in range(h):
            for i in range(n):
                keep = np.argsort(-logits[bi, hi, i])[:k]
                p = np.exp(logits[bi, hi, i, keep] - logits[bi, hi, i, keep].max())
                ref[bi, hi, i] = (p / p.sum()) @ v.numpy()[bi, hi, keep]
    np.testing.assert_allclose(out.transpose(1, 2).numpy(), ref, atol=1e-5)
    assert torch.equal((w > 0).sum(-1), torch.full((b, h, n), k))


def test_topk_context_restores_the_attention_implementation(ce):
    before = ce.model.config._attn_implementation
    with sa.topk_attention(ce.model, 4):
        assert ce.model.config._attn_implementation == "lessonlib_topk"
    assert ce.model.config._attn_implementation == before
    assert not hasattr(ce.model.config, "lessonlib_topk")


def test_attention_flops_by_hand():
    f = sa.attention_flops(10, density=0.5, hidden=4, layers=1, intermediate=8)
    assert f["attention"] == pytest.approx(4 * 10 * 10 * 4 * 0.5)  # 800
    assert f["dense"] == pytest.approx(8 * 10 * 16 + 4 * 10 * 4 * 8)  # 2560
    t = sa.attention_flops(10, hidden=4, layers=1, intermediate=8, topk=3)
    assert t["attention"] == pytest.approx(2 * 100 * 4 + 2 * 10 * 3 * 4)
