"""Triplet loss, on given triplets or on triplets mined inside the batch (all / hard / semi-hard)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.core.similarity import check_distance
from lessonlib.losses._similarity import distance_matrix, pairwise_distance

MINING = ("none", "batch_all", "batch_hard", "semi_hard")


class Triplets(NamedTuple):
    """Index triplets into a batch: anchor, positive, negative (each a LongTensor of length T)."""

    anchor: Tensor
    positive: Tensor
    negative: Tensor


def mine_triplets(dist: Tensor, labels: Tensor, mining: str) -> Triplets:
    """Select (anchor, positive, negative) index triplets from a (B, B) distance matrix.

    A positive of anchor a is another row with the same label; a negative has a different label.

    - ``batch_all``: every valid triplet, B·(K−1)·(B−K) of them for K rows per label.
    - ``batch_hard`` (Hermans, Beyer & Leibe 2017): one per anchor: its farthest positive and its
      closest negative. Anchors without a positive or without a negative are skipped.
    - ``semi_hard`` (Schroff, Kalenichenko & Philbin 2015, FaceNet): one per (anchor, positive):
      the closest negative that is still farther than the positive (d_ap < d_an, "semi-hard");
      when none exists, the farthest negative (the TensorFlow-addons / sentence-transformers rule).

    Shapes: ``dist`` (B, B), ``labels`` (B,) -> :class:`Triplets` of LongTensors (T,).
    """
    if mining not in MINING[1:]:
        raise ValueError(f"mine_triplets(mining={mining!r}): expected one of {MINING[1:]}")
    labels = labels.reshape(-1).to(dist.device)
    b = labels.numel()
    if dist.shape != (b, b):
        raise ValueError(f"mine_triplets(dist): expected shape ({b}, {b}) for {b} labels, got {tuple(dist.shape)}")
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(b, dtype=torch.bool, device=dist.device)
    is_pos = same & ~eye  # (B, B)
    is_neg = ~same
    d = dist.detach()
    if mining == "batch_all":
        cube = is_pos.unsqueeze(2) & is_neg.unsqueeze(1)  # (a, p, n)
        a, p, n = cube.nonzero(as_tuple=True)
        return Triplets(a, p, n)
    if mining == "batch_hard":
        keep = is_pos.any(1) & is_neg.any(1)
        p = d.masked_fill(~is_pos, -torch.inf).argmax(1)
        n = d.masked_fill(~is_neg, torch.inf).argmin(1)
        a = torch.arange(b, device=dist.device)
        return Triplets(a[keep], p[keep], n[keep])
    # semi_hard: one negative per (anchor, positive) pair
    a, p = is_pos.nonzero(as_tuple=True)
    keep = is_neg[a].any(1)
    a, p = a[keep], p[keep]
    d_an = d[a]  # (P, B)
    d_ap = d[a, p].unsqueeze(1)
    semi = is_neg[a] & (d_an > d_ap)
    closest_semi = d_an.masked_fill(~semi, torch.inf).argmin(1)
    farthest = d_an.masked_fill(~is_neg[a], -torch.inf).argmax(1)
    n = torch.where(semi.any(1), closest_semi, farthest)
    return Triplets(a, p, n)


class TripletLoss(nn.Module):
    r"""Triplet margin loss, with optional in-batch mining.

        loss(a, p, n) = max(0, D(a, p) − D(a, n) + m)

    The negative must be at least m farther from the anchor than the positive. Only *relative*
    distances matter (unlike :class:`ContrastiveLoss`). Without mining you give the triplets;
    with mining you give a batch of embeddings with class labels (for retrieval: rows that share
    a label are texts about the same document/query) and the loss picks the triplets:

    - ``"batch_all"``: mean over the triplets with a non-zero loss ("active" ones);
    - ``"batch_hard"``: mean over anchors of the hardest positive vs the hardest negative;
    - ``"semi_hard"``: mean over (anchor, positive) pairs with the FaceNet semi-hard negative.

    Papers: Schroff, Kalenichenko & Philbin 2015 (FaceNet, semi-hard mining); Hermans, Beyer &
    Leibe 2017 ("In Defense of the Triplet Loss", batch-hard / batch-all). Equal to
    sentence-transformers' ``TripletLoss`` / ``BatchAllTripletLoss`` / ``BatchHardTripletLoss`` /
    ``BatchSemiHardTripletLoss`` with the same distance and margin (for batch-hard, when every row
    has a positive in the batch: they keep positive-less anchors with d_ap = 0, we skip them).

    Args:
        margin: m (the ST default is 5 with Euclidean distances of un-normalised embeddings; for
            unit vectors, distances lie in [0, 2] and m ≈ 0.1–0.5 is sensible).
        mining: ``"none"`` | ``"batch_all"`` | ``"batch_hard"`` | ``"semi_hard"``.
        distance: ``"l2"`` (||a - b||) | ``"squared_l2"`` (||a - b||²) | ``"cosine"`` (1 − cos); see
            :mod:`lessonlib.core.similarity`.

    Inputs: ``mining="none"``: ``loss(anchor (B, d), positive (B, d), negative (B, d))``;
    otherwise ``loss(embeddings (B, d), labels=labels (B,))``. Output: scalar.

    Example:
        >>> TripletLoss(margin=0.2, mining="batch_hard")(torch.randn(6, 4), labels=torch.tensor([0, 0, 1, 1, 2, 2])).ndim
        0
    """

    def __init__(self, margin: float = 0.5, mining: str = "none", distance: str = "l2") -> None:
        super().__init__()
        if mining not in MINING:
            raise ValueError(f"{type(self).__name__}(mining={mining!r}): expected one of {MINING}")
        if margin < 0:
            raise ValueError(f"{type(self).__name__}(margin={margin}): margin must be >= 0")
        self.margin = float(margin)
        self.mining = mining
        self.distance = check_distance(type(self).__name__, distance)

    def triplet_losses(self, embeddings: Tensor, labels: Tensor) -> tuple[Triplets, Tensor]:
        """The mined triplets and their per-triplet losses (T,), for inspection (e.g. how many are active)."""
        dist = distance_matrix(embeddings, None, self.distance)
        t = mine_triplets(dist, labels, self.mining)
        return t, F.relu(dist[t.anchor, t.positive] - dist[t.anchor, t.negative] + self.margin)

    def forward(
        self,
        anchor: Tensor,
        positive: Tensor | None = None,
        negative: Tensor | None = None,
        *,
        labels: Tensor | None = None,
    ) -> Tensor:
        owner = type(self).__name__
        if self.mining == "none":
            if positive is None or negative is None:
                raise ValueError(f"{owner}(mining='none'): give anchor, positive and negative (B, d) tensors")
            if not anchor.shape == positive.shape == negative.shape:
                raise ValueError(
                    f"{owner}: anchor, positive, negative must share a shape, got "
                    f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}"
                )
            d_ap = pairwise_distance(anchor, positive, self.distance)
            d_an = pairwise_distance(anchor, negative, self.distance)
            return F.relu(d_ap - d_an + self.margin).mean()
        if labels is None or positive is not None or negative is not None:
            raise ValueError(f"{owner}(mining={self.mining!r}): call as loss(embeddings, labels=labels)")
        _, losses = self.triplet_losses(anchor, torch.as_tensor(labels))
        if losses.numel() == 0:
            return anchor.sum() * 0.0  # no valid triplet in this batch: zero loss, graph kept
        if self.mining == "batch_all":
            return losses.sum() / (losses > 1e-16).sum().clamp_min(1)
        return losses.mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, mining={self.mining!r}, distance={self.distance!r}"


class BatchAllTripletLoss(TripletLoss):
    """:class:`TripletLoss` with ``mining="batch_all"`` (sentence-transformers' name)."""

    def __init__(self, margin: float = 0.5, distance: str = "l2") -> None:
        super().__init__(margin=margin, mining="batch_all", distance=distance)


class BatchHardTripletLoss(TripletLoss):
    """:class:`TripletLoss` with ``mining="batch_hard"`` (sentence-transformers' name)."""

    def __init__(self, margin: float = 0.5, distance: str = "l2") -> None:
        super().__init__(margin=margin, mining="batch_hard", distance=distance)


class BatchSemiHardTripletLoss(TripletLoss):
    """:class:`TripletLoss` with ``mining="semi_hard"`` (sentence-transformers' name)."""

    def __init__(self, margin: float = 0.5, distance: str = "l2") -> None:
        super().__init__(margin=margin, mining="semi_hard", distance=distance)
