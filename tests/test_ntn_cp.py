"""lessonlib.interaction.ntn.CPTensorLayer: a CP-factorised neural tensor layer (shared over slices)."""

from __future__ import annotations

import pytest
import torch

from lessonlib.interaction import CPTensorLayer, NeuralTensorLayer, NTNRanker, TokenEmbedding, count_parameters, cp_rank_for


def _n(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("identity", [None, 3.0])
def test_shapes_and_pairwise_equals_pointwise(identity):
    layer = CPTensorLayer(6, 6, k=3, rank=5, seed=0, identity=identity)
    q, d = torch.randn(4, 6), torch.randn(4, 6)
    assert layer(q, d).shape == (4, 3) and layer.bilinear_weight().shape == (3, 6, 6)
    qs, ds = torch.randn(2, 3, 6), torch.randn(2, 7, 6)
    pair = layer.pairwise(qs, ds)
    assert pair.shape == (2, 3, 7, 3)
    torch.testing.assert_close(pair[1, 2, 4], layer(qs[1, 2][None], ds[1, 4][None])[0], atol=1e-5, rtol=1e-5)


def test_bilinear_is_sum_over_rank_one_terms_by_hand():
    layer = CPTensorLayer(4, 3, k=2, rank=3, activation=False, seed=1)
    W = sum(layer.C[:, r, None, None] * torch.outer(layer.A[:, r], layer.B[:, r]) for r in range(3))
    torch.testing.assert_close(layer.bilinear_weight(), W)
    q, d = torch.randn(5, 4), torch.randn(5, 3)
    expected = torch.einsum("ni,kij,nj->nk", q, W, d) + layer.V(torch.cat([q, d], -1))
    torch.testing.assert_close(layer(q, d), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("identity", [None, 2.0])
def test_equals_the_full_ntn_when_its_factors_reconstruct_W(identity):
    cp = CPTensorLayer(5, 5, k=3, rank=4, seed=2, identity=identity)
    full = NeuralTensorLayer(5, 5, k=3, seed=3, identity=identity)
    with torch.no_grad():
        full.W.copy_(torch.einsum("ir,jr,kr->kij", cp.A, cp.B, cp.C))
        full.V.load_state_dict(cp.V.state_dict())
        if identity is not None:
            full.alpha.copy_(torch.tensor([2.0, -1.0, 0.5])); cp.alpha.copy_(full.alpha)
    torch.testing.assert_close(cp.bilinear_weight(), full.bilinear_weight())
    q, d = torch.randn(6, 5), torch.randn(6, 5)
    torch.testing.assert_close(cp(q, d), full(q, d), atol=1e-5, rtol=1e-5)
    qs, ds = torch.randn(2, 3, 5), torch.randn(2, 4, 5)
    torch.testing.assert_close(cp.pairwise(qs, ds), full.pairwise(qs, ds), atol=1e-5, rtol=1e-5)


def test_parameter_count_and_equal_budget_rank():
    cp = CPTensorLayer(64, 64, k=8, rank=10)
    assert _n(cp) == 10 * (64 + 64 + 8) + (128 * 8 + 8)
    R = cp_rank_for(64, 64, 8)
    assert R == 241 and abs(R * (64 + 64 + 8) - 8 * 64 * 64) <= (64 + 64 + 8) / 2
    emb = TokenEmbedding(torch.randn(30, 16))
    full, cpr = NTNRanker(emb, hidden=16, k=4), NTNRanker(emb, hidden=16, k=4, cp_rank=cp_rank_for(16, 16, 4))
    assert abs(count_parameters(cpr) - count_parameters(full)) <= 16 + 16 + 4
    assert isinstance(cpr.ntn, CPTensorLayer)
    with pytest.raises(ValueError, match="not both"):
        NTNRanker(emb, hidden=16, rank=2, cp_rank=4)
    with pytest.raises(ValueError, match="dq == dd"):
        CPTensorLayer(5, 4, identity=1.0)


def test_cp_ranker_scores_ignore_padding_and_start_as_a_similarity():
    emb = TokenEmbedding(torch.randn(60, 16, generator=torch.Generator().manual_seed(0)))
    model = NTNRanker(emb, hidden=8, k=3, cp_rank=20).eval()
    q = torch.tensor([[10, 11, 12]]); qm = torch.ones(1, 3)
    match, other = torch.tensor([[30, 10, 31, 11, 32, 12]]), torch.tensor([[30, 40, 31, 41, 32, 42]])
    dm = torch.ones(1, 6)
    with torch.no_grad():
        s_match, s_other = model(q, qm, match, dm), model(q, qm, other, dm)
        padded = model(q, qm, torch.cat([match, torch.zeros(1, 4, dtype=torch.long)], 1), torch.cat([dm, torch.zeros(1, 4)], 1))
    assert float(s_match) > float(s_other)
    torch.testing.assert_close(padded, s_match, atol=1e-5, rtol=1e-5)
