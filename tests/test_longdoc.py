"""Long-document helpers: MaxP with early exit, one early-termination setting and the settings to choose among, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.core.runs import rank_documents
from lessonlib.cross.longdoc import aggregate, early_termination, early_termination_settings, maxp_early_exit
from lessonlib.retrieval.candidates import Candidates


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


# two queries: q has documents a (3 windows), b (2), c (1); r has d (2 windows), e (1)
CAND = Candidates(["q", "q", "q", "r", "r"], ["a", "b", "c", "d", "e"], [""] * 5, [""] * 5, np.zeros(5))
OWNER = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4])
WINDOW_SCORES = np.array([0.5, 0.2, 0.9, 0.4, 0.8, 0.3, 0.1, 0.7, 0.6])


def test_early_termination_cascade_reads_all_windows_of_the_best_first_windows_only():
    run, passes = early_termination(CAND, WINDOW_SCORES, OWNER, keep=1)
    # stage 1 reads 5 first windows; q's best first window is a (0.5): its 2 more windows; r's is e (0.6): none more
    assert passes == pytest.approx((5 + 2 + 0) / 5)
    assert rank_documents(run["q"]) == ["a", "b", "c"]  # a (MaxP 0.9) first, then b, c in their FirstP order
    assert rank_documents(run["r"]) == ["e", "d"]


def test_early_termination_keep_all_is_maxp_and_early_exit_at_inf_too():
    maxp = CAND.to_run(aggregate(WINDOW_SCORES, OWNER, 5, "maxp"))
    run, passes = early_termination(CAND, WINDOW_SCORES, OWNER, stop_at=np.inf)
    assert run == maxp and passes == pytest.approx(9 / 5)
    run, passes = early_termination(CAND, WINDOW_SCORES, OWNER, keep=3)
    assert {q: rank_documents(d) for q, d in run.items()} == {q: rank_documents(d) for q, d in maxp.items()}
    assert passes == pytest.approx(9 / 5)


def test_early_exit_reads_until_a_confident_window():
    run, passes = early_termination(CAND, WINDOW_SCORES, OWNER, stop_at=0.45)
    assert passes == pytest.approx((1 + 2 + 1 + 2 + 1) / 5)  # a stops at 0.5, b at 0.8; d reads both (0.1, 0.7)
    assert run["q"] == pytest.approx({"a": 0.5, "b": 0.8, "c": 0.3})


def test_early_termination_takes_exactly_one_knob():
    with pytest.raises(ValueError, match="exactly one"):
        early_termination(CAND, WINDOW_SCORES, OWNER)
    with pytest.raises(ValueError, match="exactly one"):
        early_termination(CAND, WINDOW_SCORES, OWNER, keep=1, stop_at=0.5)


def test_early_termination_settings():
    scores = np.arange(101.0)
    assert early_termination_settings(scores, depth=3) == [("keep", 1), ("keep", 2), ("stop_at", 75.0), ("stop_at", 90.0),
                                                           ("stop_at", 97.0), ("stop_at", np.inf)]
    assert early_termination_settings(scores, depth=10, keeps=(5,), quantiles=()) == [("keep", 5), ("stop_at", np.inf)]



def test_passage_runs_aggregate_each_candidates_windows_in_every_mode():
    from lessonlib.cross.longdoc import passage_runs

    keys = [("a", 0), ("a", 1), ("b", 0), ("c", 0), ("c", 1), ("c", 2)]
    scores = np.array([[1.0, 3.0, 2.0, 0.5, 0.5, 4.0],
                       [0.0, 0.0, 1.0, 2.0, 1.0, 0.0]])
    cand = {"q1": {"a": 9.0, "c": 1.0}, "q2": {"b": 1.0, "c": 2.0, "a": 0.0}}
    runs = passage_runs(cand, scores, keys)
    assert runs["firstp"] == {"q1": {"a": 1.0, "c": 0.5}, "q2": {"b": 1.0, "c": 2.0, "a": 0.0}}
    assert runs["maxp"] == {"q1": {"a": 3.0, "c": 4.0}, "q2": {"b": 1.0, "c": 2.0, "a": 0.0}}
    assert runs["sump"] == {"q1": {"a": 4.0, "c": 5.0}, "q2": {"b": 1.0, "c": 3.0, "a": 0.0}}
