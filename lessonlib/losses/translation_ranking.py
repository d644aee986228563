"""Bidirectional additive-margin softmax: align a sentence with its translation (LaBSE / mUSE)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, score_matrix


class AdditiveMarginSoftmaxLoss(nn.Module):
    r"""Translation ranking: each sentence must pick its own translation among the batch's, both ways.

        S_ij = scale · (s(x_i, y_j) − margin · 1[i = j])
        loss = ½ [ CE(S, diag) + CE(Sᵀ, diag) ]

    x_i and y_i are a sentence and its translation (a parallel pair); the other rows of the batch
    are the negatives. The margin is subtracted from the true pair only, so a pair must beat every
    other candidate by ``margin`` before the loss lets go (additive margin softmax, Wang et al. 2018).
    Bidirectional dual encoder with additive margin softmax: Yang et al. 2019 (IJCAI), used for
    mUSE (Yang et al. 2020) and LaBSE (Feng et al. 2022, "Language-agnostic BERT Sentence
    Embedding", scale 1/τ with margin 0.3). ``margin=0`` is the symmetric InfoNCE of
    :class:`lessonlib.losses.InfoNCELoss` with τ = 1/scale. Taught in notebook 02 (§2.2
    cross-lingual alignment).

    Inputs: ``x`` (B, d), ``y`` (B, d). Output: scalar.

    >>> AdditiveMarginSoftmaxLoss()(torch.randn(4, 8), torch.randn(4, 8)).ndim
    0
    """

    def __init__(self, scale: float = 20.0, margin: float = 0.3, symmetric: bool = True, similarity: str = "cosine") -> None:
        super().__init__()
        if not scale > 0:
            raise ValueError(f"AdditiveMarginSoftmaxLoss(scale={scale}): must be > 0")
        if margin < 0:
            raise ValueError(f"AdditiveMarginSoftmaxLoss(margin={margin}): must be >= 0")
        self.scale = float(scale)
        self.margin = float(margin)
        self.symmetric = symmetric
        self.similarity = check_loss_similarity(type(self).__name__, similarity)

    def logits(self, x: Tensor, y: Tensor) -> Tensor:
        """S (B, B): scaled similarities, the margin taken off the diagonal."""
        if x.dim() != 2 or x.shape != y.shape:
            raise ValueError(f"{type(self).__name__}(x, y): expected two (B, d) tensors, got {tuple(x.shape)} and {tuple(y.shape)}")
        s = score_matrix(x, y, self.similarity)
        return self.scale * (s - self.margin * torch.eye(s.shape[0], dtype=s.dtype, device=s.device))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        logits = self.logits(x, y)
        target = torch.arange(x.shape[0], device=x.device)
        loss = F.cross_entropy(logits, target)
        if self.symmetric:
            loss = 0.5 * (loss + F.cross_entropy(logits.T, target))
        return loss

    def extra_repr(self) -> str:
        return f"scale={self.scale}, margin={self.margin}, symmetric={self.symmetric}"
