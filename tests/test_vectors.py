"""core.vectors.l2_normalize: the one row normaliser (index inputs, geometry, InfoNCE profile, claim retrieval)."""

from __future__ import annotations

import numpy as np
import torch

from lessonlib.core.vectors import l2_normalize


def test_rows_become_unit_vectors_and_zero_rows_stay_zero():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    out = l2_normalize(x)
    assert out.dtype == np.float32 and np.allclose(out, [[0.6, 0.8], [0, 0], [-1, 0]])
    assert l2_normalize(x, np.float64).dtype == np.float64


def test_it_agrees_with_torch_normalize_on_any_leading_shape():
    x = np.random.default_rng(0).normal(size=(3, 4, 5))
    ref = torch.nn.functional.normalize(torch.from_numpy(x), dim=-1).numpy()
    assert np.allclose(l2_normalize(x, np.float64), ref, atol=1e-12)
