"""In-batch negatives: the other queries' positives in the same batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lessonlib.dual.samplers.base import NegativeSampler


def in_batch_mask(positive_ids: Sequence[str], all_positive_ids: Sequence[Sequence[str]] | None = None) -> np.ndarray:
    """Which in-batch candidates are valid negatives: bool (B, B), True = keep in the softmax.

    Column j is the positive document of row j (``positive_ids[j]``, one doc id per row, as fed to
    InfoNCE). Entry (i, j) is False when j ≠ i but document j is relevant to query i: the same
    document appears twice in the batch, or it is another known positive of query i (from
    ``all_positive_ids[i]``). Those are *false* in-batch negatives. The diagonal is True.

    Pass the result as ``mask`` to :class:`lessonlib.losses.InfoNCELoss` (for the first B columns).

    >>> in_batch_mask(["d1", "d2", "d1"]).astype(int).tolist()
    [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
    """
    b = len(positive_ids)
    if all_positive_ids is not None and len(all_positive_ids) != b:
        raise ValueError(f"in_batch_mask: all_positive_ids has {len(all_positive_ids)} rows, positive_ids {b}")
    mask = np.ones((b, b), dtype=bool)
    for i in range(b):
        relevant = {positive_ids[i], *(all_positive_ids[i] if all_positive_ids is not None else ())}
        for j in range(b):
            if j != i and positive_ids[j] in relevant:
                mask[i, j] = False
    return mask


class InBatchNegatives(NegativeSampler):
    """In-batch negatives: for each query, the positives of the *other* queries in the batch.

    Nothing is sampled: the batch itself supplies B − 1 negatives per query for free (their
    embeddings are computed anyway), which is why InfoNCE / MultipleNegativesRankingLoss see them
    automatically (Henderson et al. 2017; Karpukhin et al. 2020, DPR; Chen et al. 2020, SimCLR).
    This sampler makes that explicit: :meth:`sample` lists those ids (first positive of each other
    query, skipping any that are positives of this query: false negatives), and :meth:`mask` gives
    the boolean mask for the loss. Larger batches = more (and harder, on average) negatives.

    >>> InBatchNegatives().sample(["q1", "q2", "q3"], [["a"], ["b"], ["a", "c"]], n=5)
    [['b'], ['a'], ['b']]
    """

    def __init__(self, qrels: dict[str, dict[str, int]] | None = None) -> None:
        super().__init__(seed=0, qrels=qrels)

    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int | None = None) -> list[list[str]]:
        """Up to ``n`` (default all) other-query positives per query, in batch order, no duplicates."""
        self._check(query_ids, positive_ids, 0 if n is None else n)
        firsts = [pos[0] if len(pos) else None for pos in positive_ids]
        out = []
        for i, (qid, pos) in enumerate(zip(query_ids, positive_ids)):
            excluded = self.excluded(qid, pos)
            negs: list[str] = []
            for j, d in enumerate(firsts):
                if j != i and d is not None and d not in excluded and d not in negs:
                    negs.append(d)
            out.append(negs if n is None else negs[:n])
        return out

    def mask(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]]) -> np.ndarray:
        """bool (B, B) for the loss: column j is ``positive_ids[j][0]``; False = a false negative."""
        return in_batch_mask(
            [p[0] for p in positive_ids], [sorted(self.excluded(q, p)) for q, p in zip(query_ids, positive_ids)]
        )
