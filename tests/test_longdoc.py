"""Long-document helpers: MaxP with early exit, by hand."""

from __future__ import annotations

import numpy as np

from lessonlib.cross.longdoc import aggregate, maxp_early_exit


def test_early_exit_stops_at_the_first_confident_window():
    scores = np.array([0.1, 0.9, 0.3, 2.0, 0.5, 0.4, 0.2])
    owner = np.array([0, 0, 0, 1, 1, 2, 2])
    out, read = maxp_early_exit(scores, owner, 3, threshold=0.8)
    np.testing.assert_allclose(out, [0.9, 2.0, 0.4])  # doc 0 stops after its 2nd window, doc 1 after its 1st
    assert read.tolist() == [2, 1, 2]


def test_infinite_threshold_is_maxp():
    rng = np.random.default_rng(0)
    owner = np.sort(rng.integers(0, 5, size=30))
    scores = rng.normal(size=30)
    out, read = maxp_early_exit(scores, owner, 5, threshold=np.inf)
    np.testing.assert_allclose(out, aggregate(scores, owner, 5, "maxp"))
    assert read.tolist() == np.bincount(owner, minlength=5).tolist()
