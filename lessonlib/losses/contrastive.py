"""Contrastive (siamese pair) losses: pull positive pairs together, push negatives past a margin."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.core.similarity import check_distance
from lessonlib.losses._similarity import pairwise_distance


def _check_pairs(owner: str, a: Tensor, b: Tensor, label: Tensor) -> Tensor:
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"{owner}(a, b): expected two (B, d) tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    label = torch.as_tensor(label, device=a.device).reshape(-1)
    if label.numel() != a.shape[0]:
        raise ValueError(f"{owner}(label): expected {a.shape[0]} labels (one per pair), got {label.numel()}")
    return label.to(a.dtype)


class ContrastiveLoss(nn.Module):
    r"""Pairwise contrastive loss of Hadsell, Chopra & LeCun 2006.

        loss_i = ½ [ y_i · d_i²  +  (1 − y_i) · max(0, m − d_i)² ],   d_i = D(a_i, b_i)

    Positive pairs (y = 1) are pulled to distance 0; negative pairs (y = 0) are pushed out until
    they are at least the margin m apart, and then ignored. It scores each pair on its own, with
    an absolute target, so it suits labelled pair data (duplicates / not duplicates) more than
    ranking, where InfoNCE's relative objective usually wins.

    Paper: Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping".
    Equals ``sentence_transformers.losses.ContrastiveLoss`` (same defaults: cosine distance, m = 0.5).

    Args:
        margin: m, the distance beyond which negatives cost nothing.
        distance: ``"cosine"`` (1 − cos) | ``"l2"`` (||a − b||) | ``"squared_l2"`` (||a − b||²).
        reduction: ``"mean"`` | ``"sum"``.

    Inputs: ``a`` (B, d), ``b`` (B, d), ``label`` (B,) of 0/1. Output: scalar.

    Example:
        >>> ContrastiveLoss(margin=0.5)(torch.randn(4, 8), torch.randn(4, 8), torch.tensor([1, 0, 1, 0])).ndim
        0
    """

    def __init__(self, margin: float = 0.5, distance: str = "cosine", reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"ContrastiveLoss(reduction={reduction!r}): expected 'mean' or 'sum'")
        self.margin = float(margin)
        self.distance = check_distance(type(self).__name__, distance)
        self.reduction = reduction

    def forward(self, a: Tensor, b: Tensor, label: Tensor) -> Tensor:
        y = _check_pairs(type(self).__name__, a, b, label)
        d = pairwise_distance(a, b, self.distance)
        losses = 0.5 * (y * d.pow(2) + (1 - y) * F.relu(self.margin - d).pow(2))
        return losses.mean() if self.reduction == "mean" else losses.sum()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}"


class OnlineContrastiveLoss(ContrastiveLoss):
    r"""Contrastive loss on the hard pairs of the batch only (sentence-transformers' variant).

    Keeps the negatives closer than the farthest positive and the positives farther than the
    closest negative, then sums  d²  over those positives and  max(0, m − d)²  over those
    negatives (no ½, summed, as in sentence-transformers' ``OnlineContrastiveLoss``).

    Inputs: ``a`` (B, d), ``b`` (B, d), ``label`` (B,) of 0/1. Output: scalar.
    """

    def __init__(self, margin: float = 0.5, distance: str = "cosine") -> None:
        super().__init__(margin=margin, distance=distance, reduction="sum")

    def forward(self, a: Tensor, b: Tensor, label: Tensor) -> Tensor:
        y = _check_pairs(type(self).__name__, a, b, label)
        d = pairwise_distance(a, b, self.distance)
        negs, poss = d[y == 0], d[y == 1]
        hard_negs = negs[negs < (poss.max() if len(poss) else negs.mean())]
        hard_poss = poss[poss > (negs.min() if len(negs) else poss.mean())]
        return hard_poss.pow(2).sum() + F.relu(self.margin - hard_negs).pow(2).sum()
