"""Pairwise margin ranking (hinge) loss on query–document scores."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, pairwise_similarity


class MarginRankingLoss(nn.Module):
    r"""Hinge on the score gap between the positive and each negative.

        loss = mean_{i, j} max(0, m − s(q_i, p_i) + s(q_i, n_ij))

    The positive must outscore every negative by at least m; pairs that already do cost nothing.
    The ranking-SVM objective (Joachims 2002, "Optimizing Search Engines using Clickthrough Data")
    on similarities; torch's ``nn.MarginRankingLoss`` with target +1 on (s_pos, s_neg). Use it with
    explicit (mined) negatives; it ignores the rest of the batch, unlike InfoNCE.

    Args:
        margin: m, in units of the similarity (0.1–0.3 for cosine; larger for inner products).
        similarity: ``"cosine"`` | ``"ip"`` | ``"l2"`` (-||a - b||²); see :mod:`lessonlib.core.similarity`.

    Inputs: ``q`` (B, d), ``pos`` (B, d), ``neg`` (B, d) or (B, n, d). Output: scalar.

    Example:
        >>> MarginRankingLoss(0.2)(torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 3, 8)).ndim
        0
    """

    def __init__(self, margin: float = 0.2, similarity: str = "cosine") -> None:
        super().__init__()
        self.margin = float(margin)
        self.similarity = check_loss_similarity(type(self).__name__, similarity)

    def forward(self, q: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        if neg.dim() == 2:
            neg = neg.unsqueeze(1)
        if q.shape != pos.shape or neg.dim() != 3 or neg.shape[0] != q.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: expected q, pos (B, d) and neg (B, d) or (B, n, d), got "
                f"{tuple(q.shape)}, {tuple(pos.shape)}, {tuple(neg.shape)}"
            )
        s_pos = pairwise_similarity(q, pos, self.similarity).unsqueeze(1)  # (B, 1)
        s_neg = pairwise_similarity(q.unsqueeze(1), neg, self.similarity)  # (B, n)
        return F.relu(self.margin - s_pos + s_neg).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, similarity={self.similarity!r}"
