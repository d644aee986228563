"""lessonlib.evaluation.cross_vs_dual: geometry (against Wang & Isola's reference code), InfoNCE theory (against
InfoNCELoss and autograd), capacity toy, low-rank scores (Eckart-Young), cost model and forgetting by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.evaluation import cross_vs_dual as A
from lessonlib.dual import geometry
from lessonlib.losses import InfoNCELoss


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ---------------------------------------------------------------- alignment / uniformity
def test_alignment_and_uniformity_match_wang_isola_reference_code():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
    tx, ty = torch.from_numpy(_unit(x)), torch.from_numpy(_unit(y))
    # the paper's published snippet: align = (x - y).norm(dim=1).pow(alpha).mean(); uniform = pdist^2 * -t -> exp -> mean -> log
    ref_align = (tx - ty).norm(p=2, dim=1).pow(2).mean().item()
    ref_unif = torch.pdist(tx, p=2).pow(2).mul(-2).exp().mean().log().item()
    assert geometry.alignment(x, y) == pytest.approx(ref_align, rel=1e-9)
    assert geometry.uniformity(x, n_pairs=None) == pytest.approx(ref_unif, rel=1e-9)


def test_uniformity_is_zero_for_collapsed_vectors_and_lower_when_spread():
    collapsed = np.tile([[1.0, 2.0, 3.0]], (20, 1))
    spread = np.random.default_rng(1).normal(size=(200, 16))
    assert geometry.uniformity(collapsed) == pytest.approx(0.0, abs=1e-12)
    assert geometry.uniformity(spread) < -2.5
    assert geometry.alignment(spread, spread) == pytest.approx(0.0, abs=1e-12)


def test_alignment_rejects_misaligned_shapes():
    with pytest.raises(ValueError, match="same shape"):
        geometry.alignment(np.ones((3, 2)), np.ones((4, 2)))


def test_effective_rank_by_hand():
    # singular values 3 and 1: p = (3/4, 1/4), erank = exp(-(3/4 log 3/4 + 1/4 log 1/4))
    expected = np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert geometry.effective_rank(np.diag([3.0, 1.0]), center=False) == pytest.approx(expected, rel=1e-12)
    assert geometry.effective_rank(np.eye(5), center=False) == pytest.approx(5.0)
    assert geometry.effective_rank(np.outer(np.arange(1.0, 6.0), np.arange(1.0, 4.0)), center=False) == pytest.approx(1.0)


# ---------------------------------------------------------------- InfoNCE profile
def test_infonce_profile_loss_equals_infonce_loss_and_gradient_equals_autograd():
    rng = np.random.default_rng(2)
    q, p, n = _unit(rng.normal(size=(6, 5))), _unit(rng.normal(size=(6, 5))), _unit(rng.normal(size=(4, 5)))
    taus = [0.05, 0.3, 1.0]
    prof = A.infonce_profile(q, p, n, taus)
    cands = torch.from_numpy(np.concatenate([p, n]))
    for i, tau in enumerate(taus):
        ref = InfoNCELoss(temperature=tau)(torch.from_numpy(q), torch.from_numpy(p), torch.from_numpy(n)).item()
        assert prof.loss[i] == pytest.approx(ref, rel=1e-6)
        qt = torch.from_numpy(q).requires_grad_(True)  # gradient w.r.t. the (already unit) query vectors
        per_query = torch.nn.functional.cross_entropy(qt @ cands.T / tau, torch.arange(6), reduction="none")
        (g,) = torch.autograd.grad(per_query.sum(), qt)
        assert prof.grad_norm[i] == pytest.approx(g.norm(dim=1).mean().item(), rel=1e-6)
    assert prof.n_candidates == 10
    assert np.allclose(prof.mi_bound, np.log(10) - prof.loss)


def test_infonce_profile_entropy_is_the_softmax_entropy():
    rng = np.random.default_rng(5)
    q, p, n = _unit(rng.normal(size=(6, 8))), _unit(rng.normal(size=(6, 8))), _unit(rng.normal(size=(4, 8)))
    prof = A.infonce_profile(q, p, n, [0.07])
    logits = torch.tensor(q @ np.concatenate([p, n]).T / 0.07)
    expected = torch.distributions.Categorical(logits=logits).entropy().mean().item()
    assert prof.entropy[0] == pytest.approx(expected, rel=1e-9)


def test_infonce_profile_concentrates_on_the_hardest_negative_at_low_temperature():
    rng = np.random.default_rng(3)
    q = _unit(rng.normal(size=(16, 8)))
    prof = A.infonce_profile(q, _unit(q + 0.3 * rng.normal(size=q.shape)), temperatures=[0.01, 0.1, 1.0])
    assert prof.hardest_share[0] > prof.hardest_share[1] > prof.hardest_share[2]
    assert np.all(prof.mi_bound <= np.log(16) + 1e-12)
    # entropy of the softmax over the 16 candidates: grows with τ, bounded by log C (uniform)
    assert prof.entropy[0] < prof.entropy[1] < prof.entropy[2] <= np.log(16) + 1e-12
    with pytest.raises(ValueError, match="temperature"):
        A.infonce_profile(q, q, temperatures=[0.0])


# ---------------------------------------------------------------- capacity
def test_dot_product_cannot_realise_a_sign_rank_two_pattern_in_one_dimension():
    # [[+,+],[+,-]]: sign(u1 v1) = sign(u1 v2) = sign(u2 v1) = + forces sign(u2 v2) = +
    target = np.array([[1.0, 1.0], [1.0, -1.0]])
    assert A.fit_sign_pattern(target, 1, "ip", steps=300).accuracy <= 0.75
    assert A.fit_sign_pattern(target, 2, "ip", steps=300).accuracy == 1.0
    assert A.fit_sign_pattern(target, 1, "mlp", steps=600, hidden=16, lr=0.02).accuracy == 1.0


def test_any_pattern_is_realisable_by_a_dot_product_at_full_dimension():
    target = A.random_sign_pattern(8, 8, seed=0)
    fit = A.fit_sign_pattern(target, 8, "ip", steps=800)
    assert fit.accuracy == 1.0 and fit.queries_perfect == 1.0
    assert fit.n_parameters == 2 * 8 * 8
    with pytest.raises(ValueError, match="\\+1 / -1"):
        A.fit_sign_pattern(np.zeros((2, 2)), 2)


def test_low_rank_scores_is_the_eckart_young_optimum():
    rng = np.random.default_rng(4)
    s = rng.normal(size=(12, 9))
    sig = np.linalg.svd(s, compute_uv=False)
    approx = A.low_rank_scores(s, [2, 9])
    assert np.linalg.norm(s - approx[2]) == pytest.approx(np.sqrt((sig[2:] ** 2).sum()), rel=1e-9)
    assert np.allclose(approx[9], s)
    exact_rank3 = rng.normal(size=(10, 3)) @ rng.normal(size=(3, 7))
    assert np.allclose(A.low_rank_scores(exact_rank3, 3), exact_rank3)


# ---------------------------------------------------------------- cost model and forgetting
def test_dual_cross_cost_by_hand():
    c = A.dual_cross_cost(n_docs=1000, n_queries=50, k=100, t_doc=0.02, t_query=0.01, t_pair=0.02, t_search=0.005)
    assert c.dual_offline_s == pytest.approx(20.0)
    assert c.dual_per_query_s == pytest.approx(0.015)
    assert c.cross_per_query_s == pytest.approx(2.0)
    assert c.dual_total_s == pytest.approx(20.0 + 50 * 0.015)
    assert c.cross_total_s == pytest.approx(100.0)
    assert c.break_even_queries == pytest.approx(20.0 / (2.0 - 0.015))
    assert A.dual_cross_cost(10, 1, 0, 1.0, 1.0, 1.0).break_even_queries == float("inf")


def test_forgetting_by_hand():
    acc = np.array([[0.8, 0.2, 0.1],
                    [0.6, 0.9, 0.3],
                    [0.5, 0.7, 0.95]])
    f = A.forgetting(acc)
    assert f.average_accuracy == pytest.approx((0.5 + 0.7 + 0.95) / 3)
    assert f.per_task_forgetting == pytest.approx([0.8 - 0.5, 0.9 - 0.7])
    assert f.average_forgetting == pytest.approx(0.25)
    assert f.backward_transfer == pytest.approx(((0.5 - 0.8) + (0.7 - 0.9)) / 2)
    with pytest.raises(ValueError, match="square"):
        A.forgetting(np.ones((2, 3)))
