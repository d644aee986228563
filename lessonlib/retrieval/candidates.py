"""The (query, document) pairs a re-ranker scores: the top ``k`` of a first-stage run, flattened.

Re-ranking experiments score the same candidates many ways (truncation, windows, a pruned model,
sparse attention...). ``Candidates`` keeps them as parallel lists — position i is one pair — so
each scorer returns one array of shape (n,) and ``to_run`` turns any such array back into a run
(the shape ``lessonlib.evaluation.metrics.evaluate`` takes). ``lessonlib.retrieval.rerank.rerank`` does the same in one
call when only the cross-encoder's plain scores are needed.

>>> cand = Candidates.from_run(ds, bm25_run(ds), k=10)
>>> run = cand.to_run(ce.score(cand.pairs()))        # re-ranked top-10
>>> evaluate(ds.qrels, run, ["ndcg@10"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lessonlib.core.runs import Run, ranked


@dataclass
class Candidates:
    """Parallel lists over n pairs: query ids, doc ids, query texts, doc texts, first-stage scores (n,)."""

    qids: list[str]
    dids: list[str]
    queries: list[str]
    docs: list[str]
    first: np.ndarray

    @classmethod
    def from_run(cls, dataset, run: Mapping[str, Mapping[str, float]], k: int,
                 qids: Sequence[str] | None = None) -> Candidates:
        """Top ``k`` documents of each query of ``run`` (ties by doc id), queries in ``qids`` order (default sorted)."""
        if k < 1:
            raise ValueError(f"Candidates.from_run(k={k}): k must be >= 1")
        qids = sorted(run) if qids is None else list(qids)
        missing = [q for q in qids if q not in run]
        if missing:
            raise ValueError(f"Candidates.from_run: query {missing[0]!r} is not in the run")
        out = cls([], [], [], [], np.zeros(0))
        first = []
        for q in qids:
            for d, s in ranked(run[q], k):
                out.qids.append(q)
                out.dids.append(d)
                out.queries.append(dataset.queries[q])
                out.docs.append(dataset.doc_text(d))
                first.append(s)
        out.first = np.asarray(first, dtype=np.float64)
        return out

    def __len__(self) -> int:
        return len(self.qids)

    def pairs(self) -> list[tuple[str, str]]:
        """``[(query text, doc text), ...]`` — what ``CrossEncoder.score`` takes."""
        return list(zip(self.queries, self.docs))

    def to_run(self, scores: Sequence[float]) -> Run:
        """Scores (n,) -> run (query id -> doc id -> score)."""
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(self),):
            raise ValueError(f"Candidates.to_run: expected {len(self)} scores, got shape {scores.shape}")
        run: Run = {}
        for q, d, s in zip(self.qids, self.dids, scores):
            run.setdefault(q, {})[d] = float(s)
        return run

    def by_query(self) -> dict[str, np.ndarray]:
        """Query id -> positions of its pairs (in first-stage order)."""
        out: dict[str, list[int]] = {}
        for i, q in enumerate(self.qids):
            out.setdefault(q, []).append(i)
        return {q: np.asarray(v, dtype=np.int64) for q, v in out.items()}
