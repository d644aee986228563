"""Adaptive hard negatives: the difficulty of the negatives follows the learning signal."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from lessonlib.dual.samplers.base import NegativeSampler


class AdaptiveHardNegatives(NegativeSampler):
    """Negatives from a window of the current model's ranking whose depth is steered by feedback.

    The learning signal of InfoNCE for a query is 1 − p⁺ (p⁺ = the softmax probability of the
    positive among the candidates; the gradient on the logits is p − onehot). Too-easy negatives
    give p⁺ → 1 and no gradient; the very top of the model's ranking gives p⁺ → 0, a large but
    noisy gradient dominated by unlabelled positives (false negatives). This sampler keeps p⁺ near
    a ``target`` with a multiplicative controller on the rank r where its window starts:

        after each step:  r + 1 ← (r + 1) · exp(−gain · (p⁺ − target)),  r clipped to [min_rank, max_rank]

    (p⁺ above target: the batch was too easy, move the window up the ranking, towards harder
    negatives; below target: move it down). For each query, the ``n`` negatives are drawn
    uniformly from ranks [r, r + window) of the current model's ranking with known positives
    removed (ranks counted from 0). ``min_rank`` > 0 keeps the likeliest false negatives out, as
    ``skip_top`` does for :class:`DenseHardNegatives`.

    The trainer must call :meth:`feedback` with each batch's mean p⁺ (``lessonlib.dual.frozen_heads.fit_dual_head``
    does). Related fixed schedules: :class:`CurriculumNegatives` (easy → hard by step count, Bengio
    et al. 2009); ANCE (Xiong et al. 2021) and ADORE (Zhan et al. 2021) re-mine from the current
    model but always at a fixed depth; self-paced learning (Kumar, Packer & Koller 2010) likewise
    sets the difficulty from the current loss.

    Args:
        doc_ids: ids of the columns that ``score_fn`` returns.
        score_fn: query_ids -> array (B, len(doc_ids)) of the current model's scores.
        target: desired mean p⁺ in (0, 1).
        window: ranks the negatives are drawn from (width of the window).
        start_rank, min_rank, max_rank: initial, lowest and highest window start.
        gain: controller gain (larger = faster, more oscillation).

    Learned state: ``rank_`` (current window start), ``history_`` (list of (p⁺, rank) per feedback).

    >>> s = AdaptiveHardNegatives(["a", "b", "c", "d"], lambda q: np.array([[4.0, 3, 2, 1]]), window=1, start_rank=1)
    >>> s.sample(["q"], [["a"]], n=1)
    [['c']]
    >>> s.feedback(0.9); s.rank_ < 1
    True
    """

    def __init__(
        self,
        doc_ids: Sequence[str],
        score_fn: Callable[[Sequence[str]], np.ndarray],
        target: float = 0.5,
        window: int = 8,
        start_rank: float = 16.0,
        min_rank: float = 0.0,
        max_rank: float = 500.0,
        gain: float = 2.0,
        seed: int = 0,
        qrels: dict[str, dict[str, int]] | None = None,
    ) -> None:
        super().__init__(seed=seed, qrels=qrels)
        if not 0 < target < 1:
            raise ValueError(f"AdaptiveHardNegatives(target={target}): target must be in (0, 1)")
        if window < 1:
            raise ValueError(f"AdaptiveHardNegatives(window={window}): window must be >= 1")
        if not 0 <= min_rank <= start_rank <= max_rank:
            raise ValueError(
                f"AdaptiveHardNegatives(min_rank={min_rank}, start_rank={start_rank}, max_rank={max_rank}): "
                "need 0 <= min_rank <= start_rank <= max_rank"
            )
        self.doc_ids = list(doc_ids)
        self.score_fn = score_fn
        self.target = target
        self.window = window
        self.start_rank = start_rank
        self.min_rank = min_rank
        self.max_rank = max_rank
        self.gain = gain
        self.rank_ = float(start_rank)
        self.history_: list[tuple[float, float]] = []

    def feedback(self, p_positive: float) -> float:
        """Update the window from the last batch's mean p⁺; returns the new window start."""
        if not 0.0 <= p_positive <= 1.0:
            raise ValueError(f"AdaptiveHardNegatives.feedback(p_positive={p_positive}): must be in [0, 1]")
        r = (self.rank_ + 1.0) * math.exp(-self.gain * (p_positive - self.target)) - 1.0
        self.rank_ = float(min(self.max_rank, max(self.min_rank, r)))
        self.history_.append((float(p_positive), self.rank_))
        return self.rank_

    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> list[list[str]]:
        self._check(query_ids, positive_ids, n)
        scores = np.asarray(self.score_fn(list(query_ids)), dtype=np.float64)
        if scores.shape != (len(query_ids), len(self.doc_ids)):
            raise ValueError(
                f"AdaptiveHardNegatives: score_fn returned shape {scores.shape}, expected ({len(query_ids)}, {len(self.doc_ids)})"
            )
        start = int(round(self.rank_))
        out = []
        for row, qid, pos in zip(scores, query_ids, positive_ids):
            excluded = self.excluded(qid, pos)
            need = min(len(row), start + self.window + len(excluded))
            top = np.argpartition(-row, need - 1)[:need]
            top = top[np.lexsort((top, -row[top]))]  # by score, ties by column
            pool = [i for i in top if self.doc_ids[i] not in excluded][start : start + self.window]
            if len(pool) < n:  # the window ran past the end of the ranking: take the last ones
                ranked_all = [i for i in top if self.doc_ids[i] not in excluded]
                pool = ranked_all[-max(n, self.window):]
            chosen = self.rng_.choice(len(pool), size=min(n, len(pool)), replace=False)
            out.append([self.doc_ids[pool[i]] for i in sorted(chosen)])
        return out
