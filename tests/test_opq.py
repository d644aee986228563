"""OPQ's rotation step: orthogonal Procrustes (lessonlib.index.opq.procrustes_rotation)."""

from __future__ import annotations

import numpy as np

from lessonlib.index.opq import procrustes_rotation


def test_procrustes_recovers_an_orthogonal_map_and_beats_other_rotations():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    q = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    r = procrustes_rotation(x, x @ q)
    assert np.allclose(r, q, atol=1e-5) and np.allclose(r @ r.T, np.eye(8), atol=1e-5)
    y = x @ q + 0.3 * rng.normal(size=x.shape)  # a noisy target: R is still the best rotation
    best = np.linalg.norm(x @ procrustes_rotation(x, y) - y)
    for _ in range(20):
        other = np.linalg.qr(rng.normal(size=(8, 8)))[0]
        assert best <= np.linalg.norm(x @ other - y) + 1e-4
