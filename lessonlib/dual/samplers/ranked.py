"""Negatives from a precomputed ranking: BM25 negatives and dense hard negatives with denoising."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lessonlib.core.runs import Run, rank_documents
from lessonlib.core.similarity import FIXED_SIMILARITIES, check_similarity
from lessonlib.dual.samplers.base import NegativeSampler, check_pick
from lessonlib.dual.samplers.random_negatives import RandomNegatives


class RankedNegatives(NegativeSampler):
    """Negatives taken from the top of a ranking ``run`` (query id -> doc id -> score).

    For each query: rank the run by score, keep the top ``depth``, remove known positives, skip
    the first ``skip_top`` of what is left, then take the first ``n`` (``pick="top"``) or draw
    ``n`` uniformly (``pick="random"``). Where the pool runs short and ``doc_ids`` is given, the
    rest is filled with random corpus documents (not score-filtered); otherwise fewer than ``n``
    come back.

    Learned state: ``stats_`` counts, over all calls, the candidates seen and how many each
    filter removed, and the random fills.
    """

    def __init__(
        self,
        run: Run,
        depth: int = 100,
        skip_top: int = 0,
        pick: str = "top",
        seed: int = 0,
        qrels: dict[str, dict[str, int]] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> None:
        super().__init__(seed=seed, qrels=qrels)
        name = type(self).__name__
        if depth < 1:
            raise ValueError(f"{name}(depth={depth}): depth must be >= 1")
        if skip_top < 0:
            raise ValueError(f"{name}(skip_top={skip_top}): skip_top must be >= 0")
        self.run = run
        self.depth = depth
        self.skip_top = skip_top
        self.pick = check_pick(name, pick)
        self.doc_ids = list(doc_ids) if doc_ids is not None else None
        self._ranked: dict[str, list[str]] = {}
        self.stats_ = {"candidates": 0, "positives": 0, "skipped_top": 0, "margin": 0, "ratio": 0, "filled": 0}

    def ranking(self, query_id: str) -> list[str]:
        """The top ``depth`` doc ids of ``query_id`` by decreasing score (cached)."""
        if query_id not in self._ranked:
            if query_id not in self.run:
                raise KeyError(f"{type(self).__name__}.sample: query {query_id!r} has no ranking in the run")
            self._ranked[query_id] = rank_documents(self.run[query_id], self.depth)
        return self._ranked[query_id]

    def candidates(self, query_id: str, excluded: set[str]) -> list[str]:
        """The pool negatives are taken from, best first, after every filter."""
        docs = self.ranking(query_id)
        pool = [d for d in docs if d not in excluded]
        self.stats_["candidates"] += len(docs)
        self.stats_["positives"] += len(docs) - len(pool)
        self.stats_["skipped_top"] += min(self.skip_top, len(pool))
        return self._denoise(query_id, excluded, pool[self.skip_top :])

    def _denoise(self, query_id: str, excluded: set[str], pool: list[str]) -> list[str]:
        return pool

    def _sample_one(self, query_id: str, excluded: set[str], n: int) -> list[str]:
        if self.doc_ids is not None and query_id not in self.run:
            pool = []
        else:
            pool = self.candidates(query_id, excluded)
        out = self._choose(pool, n, self.pick)
        if len(out) < n and self.doc_ids is not None:
            filler = RandomNegatives(self.doc_ids, seed=int(self.rng_.integers(2**31)))
            extra = filler._sample_one(query_id, excluded | set(out), n - len(out))
            self.stats_["filled"] += len(extra)
            out += extra
        return out


class BM25Negatives(RankedNegatives):
    """BM25 negatives: lexically similar documents that are not positives.

    The top BM25 documents share words with the query, so they are harder than random ones; DPR
    (Karpukhin et al. 2020) adds one BM25 negative per question to the in-batch negatives and gains
    several points of top-20 accuracy. Takes any precomputed ``run`` (from
    :class:`lessonlib.retrieval.bm25.BM25`, bm25s, Pyserini or a TREC file), so it does not depend on
    which BM25 produced it. Knobs: see :class:`RankedNegatives`.

    >>> from lessonlib.retrieval.bm25 import BM25                                        # doctest: +SKIP
    >>> sampler = BM25Negatives(BM25().retrieve(dataset, k=100), pick="random", seed=0)  # doctest: +SKIP
    >>> sampler.sample(["q1"], [["d7"]], n=1)                                     # doctest: +SKIP
    """

    @classmethod
    def from_dataset(cls, dataset, depth: int = 100, **kwargs) -> BM25Negatives:
        """Build the run with :class:`lessonlib.retrieval.bm25.BM25` (defaults) over ``dataset``'s queries."""
        from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

        run = BM25().fit(dataset.doc_texts(), dataset.doc_ids).retrieve(dataset, k=depth)
        return cls(run, depth=depth, doc_ids=kwargs.pop("doc_ids", dataset.doc_ids), **kwargs)


class DenseHardNegatives(RankedNegatives):
    """Hard negatives from a dense retriever's ranking, with false-negative filtering.

    The top documents of a dense model are the hardest negatives, but many of them are unjudged
    *positives* (false negatives): training against them hurts. Three denoising rules, applied
    after removing the known positives (RocketQA's observation, Qu et al. 2021, "RocketQA: An
    Optimized Training Approach to Dense Passage Retrieval"; the score thresholds of NV-Retriever,
    Moreira et al. 2024, "positive-aware hard-negative mining"):

    - ``skip_top``: drop the first ``skip_top`` ranks (the likeliest false negatives);
    - ``margin``: drop candidates with  s(q, d) > s⁺ − margin  (as good as a positive, or nearly);
    - ``max_ratio``: drop candidates with  s(q, d) > max_ratio · s⁺  (TopK-PercPos, e.g. 0.95).

    s⁺ is the lowest score among the query's known positives (a candidate that scores like any
    positive is suspicious). It comes from ``scorer(query_id, doc_id)`` when given, else from the
    run; a query whose positive score is unknown is not score-filtered (counted in ``stats_``).

    Args:
        run: the dense ranking (query id -> doc id -> score), e.g. :func:`lessonlib.dual.encode.dense_run`.
        margin, max_ratio: the score filters (None = off).
        scorer: optional callable (query_id, doc_id) -> score, to score positives missing from the run.
        depth, skip_top, pick, seed, qrels, doc_ids: see :class:`RankedNegatives`.

    >>> s = DenseHardNegatives({"q": {"p": .9, "a": .89, "b": .5}}, margin=0.05)
    >>> s.sample(["q"], [["p"]], n=1)
    [['b']]
    """

    def __init__(
        self,
        run: Run,
        depth: int = 100,
        skip_top: int = 0,
        margin: float | None = None,
        max_ratio: float | None = None,
        pick: str = "top",
        seed: int = 0,
        qrels: dict[str, dict[str, int]] | None = None,
        doc_ids: Sequence[str] | None = None,
        scorer: Callable[[str, str], float] | None = None,
    ) -> None:
        super().__init__(run, depth=depth, skip_top=skip_top, pick=pick, seed=seed, qrels=qrels, doc_ids=doc_ids)
        if max_ratio is not None and not 0 < max_ratio:
            raise ValueError(f"DenseHardNegatives(max_ratio={max_ratio}): max_ratio must be > 0")
        self.margin = margin
        self.max_ratio = max_ratio
        self.scorer = scorer
        self.stats_["unknown_positive_score"] = 0

    @classmethod
    def from_embeddings(
        cls,
        query_ids: Sequence[str],
        query_emb: np.ndarray,
        doc_ids: Sequence[str],
        doc_emb: np.ndarray,
        similarity: str = "cosine",
        depth: int = 100,
        **kwargs,
    ) -> DenseHardNegatives:
        """Exact top-``depth`` search of ``query_emb`` (nq, d) against ``doc_emb`` (nd, d) under
        ``similarity`` (``"cosine"`` | ``"ip"`` | ``"l2"`` = -||q - d||², :mod:`lessonlib.core.similarity`);
        positives are scored from the embeddings too, so the margin filters always apply."""
        check_similarity("DenseHardNegatives.from_embeddings", similarity, FIXED_SIMILARITIES)
        q = np.asarray(query_emb, dtype=np.float32)
        d = np.asarray(doc_emb, dtype=np.float32)
        if len(q) != len(query_ids) or len(d) != len(doc_ids):
            raise ValueError(
                f"DenseHardNegatives.from_embeddings: {len(query_ids)} query ids for {len(q)} rows, "
                f"{len(doc_ids)} doc ids for {len(d)} rows"
            )
        if similarity == "cosine":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        # "l2": -||q - d||² = 2 q·d - ||q||² - ||d||²; "ip" / "cosine": q·d (unit vectors for cosine)
        l2 = similarity == "l2"
        q_sq = (q * q).sum(1) if l2 else np.zeros(len(q), np.float32)
        d_sq = (d * d).sum(1) if l2 else np.zeros(len(d), np.float32)
        factor = 2.0 if l2 else 1.0
        k = min(depth, len(doc_ids))
        run: Run = {}
        for start in range(0, len(q), 512):  # bounded (block, n_docs) score matrix
            scores = factor * (q[start : start + 512] @ d.T) - q_sq[start : start + 512, None] - d_sq[None, :]
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            for row, cols in enumerate(top):
                run[query_ids[start + row]] = {doc_ids[c]: float(scores[row, c]) for c in cols}
        q_row = {qid: i for i, qid in enumerate(query_ids)}
        d_row = {did: i for i, did in enumerate(doc_ids)}

        def scorer(qid: str, did: str) -> float:
            i, j = q_row[qid], d_row[did]
            return float(factor * (q[i] @ d[j]) - q_sq[i] - d_sq[j])

        return cls(run, depth=depth, scorer=scorer, **kwargs)

    def positive_score(self, query_id: str, positives: set[str]) -> float | None:
        """s⁺: the lowest score of the query's known positives (None when none can be scored)."""
        scores = []
        for p in positives:
            if p in self.run.get(query_id, {}):
                scores.append(self.run[query_id][p])
            elif self.scorer is not None:
                try:
                    scores.append(self.scorer(query_id, p))
                except KeyError:
                    continue
        return min(scores) if scores else None

    def _denoise(self, query_id: str, excluded: set[str], pool: list[str]) -> list[str]:
        if self.margin is None and self.max_ratio is None:
            return pool
        s_pos = self.positive_score(query_id, excluded)
        if s_pos is None:
            self.stats_["unknown_positive_score"] += 1
            return pool
        scores = self.run[query_id]
        if self.margin is not None:
            kept = [d for d in pool if scores[d] <= s_pos - self.margin]
            self.stats_["margin"] += len(pool) - len(kept)
            pool = kept
        if self.max_ratio is not None:
            kept = [d for d in pool if scores[d] <= self.max_ratio * s_pos]
            self.stats_["ratio"] += len(pool) - len(kept)
            pool = kept
        return pool
