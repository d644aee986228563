"""lessonlib.dual.geometry: effective rank, participation ratio, anisotropy, alignment and
uniformity against hand values and direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.dual.geometry import (alignment, anisotropy, dims_for_variance, effective_rank, participation_ratio,
                                singular_values, uniformity)


def test_effective_rank_hand_values():
    assert effective_rank(np.diag([1.0, 1.0, 0.0]), center=False) == pytest.approx(2.0)
    assert effective_rank(np.diag([1.0, 1.0, 1.0, 1.0]), center=False) == pytest.approx(4.0)
    rank_one = np.outer(np.arange(1, 6), [1.0, 2.0, 3.0])
    assert effective_rank(rank_one, center=False) == pytest.approx(1.0)
    # unequal energies: p = (3/4, 1/4) -> exp(H)
    p = np.array([0.75, 0.25])
    assert effective_rank(np.diag([3.0, 1.0]), center=False) == pytest.approx(np.exp(-(p * np.log(p)).sum()))


def test_effective_rank_of_isotropic_noise_is_close_to_dim():
    x = np.random.default_rng(0).normal(size=(20000, 16))
    assert effective_rank(x) == pytest.approx(16, rel=0.02)
    assert participation_ratio(x) == pytest.approx(16, rel=0.03)


def test_participation_ratio_and_dims_for_variance_match_eigenvalues():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1, 0.1])
    lam = np.sort(np.linalg.eigvalsh(np.cov(x.T)))[::-1]
    assert participation_ratio(x) == pytest.approx(lam.sum() ** 2 / (lam ** 2).sum())
    cum = np.cumsum(lam) / lam.sum()
    for share in (0.5, 0.9, 0.99, 1.0):
        assert dims_for_variance(x, share) == int(np.argmax(cum >= share - 1e-12) + 1)
    np.testing.assert_allclose(singular_values(x) ** 2 / (len(x) - 1), lam, rtol=1e-8)


def test_anisotropy_hand_values_and_all_pairs():
    assert anisotropy(np.ones((5, 3))) == pytest.approx(1.0)
    assert anisotropy(np.eye(4)) == pytest.approx(0.0)
    x = np.random.default_rng(2).normal(size=(30, 5)) + 2.0
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = [u[i] @ u[j] for i in range(30) for j in range(i + 1, 30)]
    assert anisotropy(x) == pytest.approx(np.mean(sims))
    assert anisotropy(x, n_pairs=100) == pytest.approx(np.mean(sims), abs=0.05)  # sampled pairs


def test_alignment_and_uniformity_hand_values():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[0.0, 3.0], [0.0, 1.0]])
    assert alignment(a, b) == pytest.approx((2.0 + 0.0) / 2)       # ||e1 - e2||^2 = 2, then identical
    antipodal = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(antipodal) == pytest.approx(-2.0 * 4.0)      # one pair at squared distance 4
    assert uniformity(np.ones((3, 2))) == pytest.approx(0.0)        # all at one point: log(1)
    with pytest.raises(ValueError, match="one shape"):
        alignment(a, b[:, :1])
    with pytest.raises(ValueError, match="2-D"):
        effective_rank(np.ones(3))
