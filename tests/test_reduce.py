"""PCA, whitening, random and learned projections."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.core.vectors import l2_normalize

from lessonlib.index.reduce import PCA, LearnedProjection, RandomProjection
from lessonlib.data.synthetic import clustered_vectors


def test_pca_matches_sklearn():
    sk = pytest.importorskip("sklearn.decomposition")
    x = clustered_vectors(500, 24, n_clusters=10, seed=0)
    ours = PCA(6).fit(x)
    ref = sk.PCA(6).fit(x)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-3)
    np.testing.assert_allclose(np.abs(ours.transform(x)), np.abs(ref.transform(x)), atol=1e-3)


def test_whitening_gives_identity_covariance():
    x = clustered_vectors(800, 16, n_clusters=10, seed=1)
    y = PCA(8, whiten=True).fit_transform(x)
    np.testing.assert_allclose(np.cov(y.T), np.eye(8), atol=0.02)


def test_random_projection_preserves_distances_roughly():
    x = clustered_vectors(200, 256, n_clusters=5, seed=2)
    y = RandomProjection(128, seed=0).fit_transform(x)
    d_x = np.linalg.norm(x[:100] - x[100:], axis=1)
    d_y = np.linalg.norm(y[:100] - y[100:], axis=1)
    ratio = d_y / d_x
    assert 0.8 < np.median(ratio) < 1.2 and ratio.std() < 0.15


def test_learned_projection_beats_pca_on_pairs():
    """Queries are a doc plus a large *irrelevant* high-variance direction: PCA keeps that direction,
    the contrastive projection learns to drop it."""
    rng = np.random.default_rng(0)
    n, d, m = 400, 32, 8
    docs = l2_normalize(rng.normal(size=(n, d)).astype(np.float32) * np.r_[np.ones(8), 0.1 * np.ones(d - 8)].astype(np.float32))
    noise = np.zeros((n, d), np.float32)
    noise[:, 8:16] = rng.normal(scale=1.0, size=(n, 8))
    queries = docs + noise
    tr, te = slice(0, 300), slice(300, 400)

    def acc(p):
        a, b = l2_normalize(p.transform(queries[te])), l2_normalize(p.transform(docs[te]))
        return float((np.argmax(a @ b.T, axis=1) == np.arange(100)).mean())

    pca = PCA(m).fit(np.concatenate([queries[tr], docs[tr]]))
    learned = LearnedProjection(m, epochs=30, lr=1e-2, batch_size=64, seed=0).fit(queries[tr], docs[tr])
    assert learned.losses_[-1] < learned.losses_[0]
    assert acc(learned) > acc(pca) + 0.5  # measured: 0.99 vs 0.02


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="n_components"):
        PCA(0)
    with pytest.raises(ValueError, match="more than the input dim"):
        PCA(10).fit(np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(np.full((5, 4), np.nan, np.float32))
