"""Random negatives: uniform draws from the corpus."""

from __future__ import annotations

from collections.abc import Sequence

from lessonlib.dual.samplers.base import NegativeSampler


class RandomNegatives(NegativeSampler):
    """Negatives drawn uniformly at random from the corpus (never a known positive).

    The cheapest strategy and the easiest negatives: a random SciFact abstract is almost never
    about the claim, so the model learns topic separation but little fine discrimination. Used as
    the baseline in DPR (Karpukhin et al. 2020, "Dense Passage Retrieval for Open-Domain Question
    Answering"), where it lost to BM25 and in-batch negatives.

    Args:
        doc_ids: the corpus ids to draw from.
        seed: seeds the random stream (same seed + same calls -> same negatives).
        qrels: optional; its relevant documents are never returned either.

    >>> s = RandomNegatives(["d1", "d2", "d3"], seed=0)
    >>> s.sample(["q1"], [["d1"]], n=2)[0] in (["d2", "d3"], ["d3", "d2"])
    True
    """

    def __init__(self, doc_ids: Sequence[str], seed: int = 0, qrels: dict[str, dict[str, int]] | None = None) -> None:
        super().__init__(seed=seed, qrels=qrels)
        if len(doc_ids) == 0:
            raise ValueError("RandomNegatives(doc_ids=[]): the corpus must not be empty")
        self.doc_ids = list(doc_ids)

    def _sample_one(self, query_id: str, excluded: set[str], n: int) -> list[str]:
        if len(self.doc_ids) <= 2 * (n + len(excluded)):  # small corpus: draw from the allowed docs directly
            pool = [d for d in self.doc_ids if d not in excluded]
            return [pool[i] for i in self.rng_.permutation(len(pool))[:n]]
        out: list[str] = []
        seen = set(excluded)
        # rejection sampling: cheap because positives are a tiny fraction of the corpus
        for _ in range(100):
            draws = self.rng_.integers(0, len(self.doc_ids), size=2 * (n - len(out)) + 4)
            for i in draws:
                d = self.doc_ids[i]
                if d not in seen:
                    seen.add(d)
                    out.append(d)
                    if len(out) == n:
                        return out
        pool = [d for d in self.doc_ids if d not in seen]  # pathological case: nearly all excluded
        return out + [pool[i] for i in self.rng_.permutation(len(pool))[: n - len(out)]]
