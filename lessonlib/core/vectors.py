"""Unit vectors: the one row normaliser of the course (cosine = inner product of unit vectors).

Used where vectors are compared by angle: index inputs (notebooks 05-07, 12, 13), the geometry of an
embedding space (``lessonlib.dual.geometry``, notebook 13), InfoNCE's profile
(``lessonlib.evaluation.cross_vs_dual``) and claim verification's retriever.

>>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
[[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np


def l2_normalize(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Rows of ``x`` (..., dim) scaled to unit L2 norm, x / max(||x||, 1e-12); zero rows stay zero."""
    x = np.asarray(x, dtype=dtype)
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(dtype, copy=False)
