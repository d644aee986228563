"""The Scorer protocol: anything that scores (query, document) pairs, higher = more relevant.

A re-ranker of the course (notebooks 14-24) is a :class:`Scorer`: ``lessonlib.cross.CrossEncoder``
and ``PooledCrossEncoder`` (joint encoding, Nogueira & Cho 2019), ``lessonlib.cross.score_cache.CachedScorer``
(any scorer behind an on-disk cache). :func:`lessonlib.retrieval.rerank.rerank` takes any of them.
A :data:`ScoreFn` is the same idea as a plain function of two parallel lists of texts (teachers in
``lessonlib.dual.distill``, the deletion probes of ``lessonlib.cross.interpret``).

>>> class Overlap:
...     def score(self, pairs, batch_size=32, show_progress=False):
...         return np.array([len(set(q.split()) & set(d.split())) for q, d in pairs], dtype=np.float32)
>>> isinstance(Overlap(), Scorer)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

ScoreFn = Callable[[Sequence[str], Sequence[str]], np.ndarray]
"""``score_fn(query_texts, doc_texts) -> (n,) float32 scores`` for n parallel (query, document) texts."""


@runtime_checkable
class Scorer(Protocol):
    """Scores (query, document) text pairs: ``score(pairs) -> (n,)`` float32, higher = more relevant."""

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        ...
