"""lessonlib.cross.score_cache.CachedScorer: the same scores as the model, each pair scored once."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.cross.score_cache import CachedScorer


class CountingModel:
    """A stand-in cross-encoder: score = len(query) - len(doc) / 10, counting the pairs it sees."""

    name = "counting-model"
    max_length = 64
    overflow = "truncate"

    def __init__(self):
        self.seen = 0

    def score(self, pairs, batch_size=32, show_progress=False):
        self.seen += len(pairs)
        return np.array([len(q) - len(d) / 10 for q, d in pairs], dtype=np.float32)


def test_cached_scores_equal_the_model_and_repeat_calls_score_nothing(tmp_path):
    model = CountingModel()
    scorer = CachedScorer(model, identity="counting-v1", root=tmp_path)
    pairs = [("what is bm25", "BM25 ranks documents"), ("q", "a longer document here"), ("q", "x")]
    want = model.score(pairs)
    model.seen = 0
    assert np.allclose(scorer.score(pairs), want) and model.seen == 3
    more = pairs[::-1] + [("new query", "new doc"), ("q", "x")]  # reordered, one new, one repeated
    assert np.allclose(scorer.score(more), model.score(more))
    assert model.seen == 3 + 1 + len(more)  # only the new pair went through the scorer (then the direct call)
    fresh = CachedScorer(CountingModel(), identity="counting-v1", root=tmp_path)  # another process, same model
    assert np.allclose(fresh.score(pairs), want) and fresh.model.seen == 0 and fresh.n_cached == 3


def test_another_model_identity_does_not_reuse_scores(tmp_path):
    CachedScorer(CountingModel(), identity="v1", root=tmp_path).score([("q", "d")])
    other = CachedScorer(CountingModel(), identity="v2", root=tmp_path)
    other.score([("q", "d")])
    assert other.model.seen == 1


def test_a_model_without_a_folder_needs_an_identity(tmp_path):
    with pytest.raises(ValueError, match="identity"):
        CachedScorer(CountingModel(), root=tmp_path)


def test_rerank_accepts_the_cached_scorer(tmp_path):
    from lessonlib.retrieval.rerank import rerank

    corpus = {"a": {"title": "", "text": "short"}, "b": {"title": "B", "text": "a much longer text"}}
    queries = {"q": "query"}
    run = {"q": {"a": 1.0, "b": 2.0}}
    model = CountingModel()
    got = rerank(CachedScorer(model, identity="v1", root=tmp_path), (corpus, queries), run, k=2, show_progress=False)
    assert got == rerank(model, (corpus, queries), run, k=2, show_progress=False)
