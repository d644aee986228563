"""The Scorer protocol: every re-ranker of the course satisfies it, and rerank takes any of them."""

from __future__ import annotations

import numpy as np

from lessonlib.core.scoring import Scorer
from lessonlib.cross import CrossEncoder, PooledCrossEncoder
from lessonlib.cross.score_cache import CachedScorer
from lessonlib.retrieval.rerank import rerank


class Overlap:
    def score(self, pairs, batch_size=32, show_progress=False):
        return np.array([len(set(q.split()) & set(d.split())) for q, d in pairs], dtype=np.float32)


def test_the_course_rerankers_are_scorers():
    for cls in (CrossEncoder, PooledCrossEncoder, CachedScorer, Overlap):
        assert issubclass(cls, Scorer), cls
    assert not isinstance(object(), Scorer)


def test_rerank_takes_any_scorer_and_keeps_the_top_k_only():
    corpus = {"a": {"title": "", "text": "red apple pie"}, "b": {"title": "", "text": "green tea"},
              "c": {"title": "", "text": "red apple"}}
    out = rerank(Overlap(), (corpus, {"q": "red apple pie"}), {"q": {"b": 3.0, "c": 2.0, "a": 1.0}}, k=2,
                 show_progress=False)
    assert out == {"q": {"b": 0.0, "c": 2.0}}, "the top 2 of the first stage, re-scored; 'a' was below the cut"
