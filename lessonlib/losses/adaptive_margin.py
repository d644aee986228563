"""Triplet loss whose margin adapts per triplet: larger where a teacher says the negative is clearly worse."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, pairwise_similarity


class AdaptiveMarginTripletLoss(nn.Module):
    r"""Hinge on s(q, p) − s(q, n) with a margin set per triplet from a score gap.

        m_i  = clamp(base + scale · gap_i, min_margin, max_margin)
        loss = mean_i max(0, m_i − s(q_i, p_i) + s(q_i, n_i))

    ``gap_i`` is how much better a teacher finds the positive than the negative (e.g. the BM25 or
    cross-encoder score gap, normalised to about [0, 1]): a negative the teacher barely separates
    from the positive (hard, possibly an unjudged relevant document) is asked for a small margin,
    an easy one for a large margin. ``scale=0`` is the fixed-margin triplet loss. Adaptive margins
    from rating differences: Ha & Blanz 2021, "Deep Ranking with Adaptive Margin Triplet Loss";
    the fixed-margin original: Schroff, Kalenichenko & Philbin 2015 (FaceNet). Taught in
    notebook 02 (§2.2 adaptive margins).

    Args:
        base: margin for gap 0 (similarity units: cosine 0.05–0.3).
        scale: margin added per unit of gap; 0 gives a fixed margin.
        min_margin, max_margin: the clamp (0 and +inf by default).
        similarity: ``"cosine"`` | ``"ip"`` | ``"l2"``.

    Inputs: ``q``, ``pos``, ``neg`` (B, d); ``gap`` (B,) or None (fixed margin ``base``). Output: scalar.

    >>> loss = AdaptiveMarginTripletLoss(base=0.1, scale=0.2)
    >>> float(loss.margins(torch.tensor([0.0, 1.0])).sum())
    0.4000000059604645
    """

    def __init__(self, base: float = 0.1, scale: float = 0.2, min_margin: float = 0.0, max_margin: float = float("inf"),
                 similarity: str = "cosine") -> None:
        super().__init__()
        if scale < 0:
            raise ValueError(f"AdaptiveMarginTripletLoss(scale={scale}): must be >= 0")
        if min_margin > max_margin:
            raise ValueError(f"AdaptiveMarginTripletLoss(min_margin={min_margin}, max_margin={max_margin}): min must be <= max")
        self.base = float(base)
        self.scale = float(scale)
        self.min_margin = float(min_margin)
        self.max_margin = float(max_margin)
        self.similarity = check_loss_similarity(type(self).__name__, similarity)

    def margins(self, gap: Tensor | None, batch: int | None = None) -> Tensor:
        """m_i = clamp(base + scale · gap_i): (B,) (all ``base``, clamped, when ``gap`` is None)."""
        if gap is None:
            return torch.full((batch or 1,), self.base).clamp(self.min_margin, self.max_margin)
        return (self.base + self.scale * torch.as_tensor(gap, dtype=torch.float32)).clamp(self.min_margin, self.max_margin)

    def forward(self, q: Tensor, pos: Tensor, neg: Tensor, gap: Tensor | None = None) -> Tensor:
        if not (q.shape == pos.shape == neg.shape) or q.dim() != 2:
            raise ValueError(f"{type(self).__name__}(q, pos, neg): expected three (B, d) tensors, got "
                             f"{tuple(q.shape)}, {tuple(pos.shape)}, {tuple(neg.shape)}")
        if gap is not None and torch.as_tensor(gap).shape != (q.shape[0],):
            raise ValueError(f"{type(self).__name__}(gap): expected shape ({q.shape[0]},), got {tuple(torch.as_tensor(gap).shape)}")
        m = self.margins(gap, q.shape[0]).to(q.device, q.dtype)
        diff = pairwise_similarity(q, pos, self.similarity) - pairwise_similarity(q, neg, self.similarity)
        return F.relu(m - diff).mean()

    def extra_repr(self) -> str:
        return f"base={self.base}, scale={self.scale}, similarity={self.similarity!r}"
