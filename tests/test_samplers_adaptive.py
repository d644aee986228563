"""lessonlib.dual.samplers.adaptive.AdaptiveHardNegatives: window, feedback direction, positives never returned."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.dual.samplers.adaptive import AdaptiveHardNegatives

IDS = [f"d{i}" for i in range(50)]
SCORES = np.linspace(1.0, 0.0, 50)[None, :]  # d0 best, d49 worst


def make(**kw):
    return AdaptiveHardNegatives(IDS, lambda q: np.repeat(SCORES, len(q), 0), **kw)


def test_negatives_come_from_the_rank_window_without_positives():
    s = make(window=3, start_rank=5, qrels={"q": {"d1": 1}})
    negs = s.sample(["q"], [["d0"]], n=3)[0]
    # ranking without d0 and d1 (positives): d2, d3, ... -> ranks 5..7 are d7, d8, d9
    assert sorted(negs) == ["d7", "d8", "d9"]


def test_feedback_moves_towards_harder_when_easy_and_easier_when_hard():
    s = make(target=0.5, start_rank=16, gain=1.0)
    r_easy = s.feedback(0.9)
    assert r_easy == pytest.approx(17 * np.exp(-0.4) - 1)
    s2 = make(target=0.5, start_rank=16, gain=1.0)
    assert s2.feedback(0.1) > 16
    s3 = make(target=0.5, start_rank=2, min_rank=1.0)
    for _ in range(20):
        s3.feedback(1.0)
    assert s3.rank_ == 1.0 and len(s3.history_) == 20


def test_window_past_the_end_falls_back_to_the_last_ranks_and_bad_args_raise():
    s = make(window=4, start_rank=60, max_rank=100)
    negs = s.sample(["q"], [["d0"]], n=2)[0]
    assert len(negs) == 2 and all(int(d[1:]) >= 45 for d in negs)
    with pytest.raises(ValueError, match="target"):
        make(target=1.0)
    with pytest.raises(ValueError, match="min_rank"):
        make(start_rank=1, min_rank=2)
