"""Similarity and distance functions shared by the losses (torch in, torch out), under the names of
:mod:`lessonlib.core.similarity`.

Similarities (higher = closer): ``"ip"`` (a . b), ``"cosine"`` (the inner product of L2-normalised
vectors), ``"l2"`` (-||a - b||^2, the negative squared Euclidean distance). Distances (lower =
closer): ``"l2"`` (||a - b||), ``"squared_l2"`` (||a - b||^2), ``"cosine"`` (1 - cosine similarity).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lessonlib.core import similarity as vocabulary


def check_loss_similarity(owner: str, similarity: str) -> str:
    """One of the similarities a loss can compute (no ``"bilinear"``: a loss has no learned W)."""
    return vocabulary.check_similarity(owner, similarity, vocabulary.FIXED_SIMILARITIES)


def _safe_sqrt(x: Tensor) -> Tensor:
    # sqrt has an infinite gradient at 0 (e.g. the diagonal of a distance matrix): take the root only
    # where x > 0 and leave exact zeros (with a zero gradient) elsewhere.
    x = x.clamp_min(0.0)
    zero = x == 0
    return torch.where(zero, torch.zeros_like(x), torch.sqrt(torch.where(zero, torch.ones_like(x), x)))


def score_matrix(a: Tensor, b: Tensor, similarity: str = "cosine") -> Tensor:
    """All-pairs similarity: (n, d) x (m, d) -> (n, m)."""
    check_loss_similarity("score_matrix", similarity)
    if similarity == "cosine":
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    if similarity == "ip":
        return a @ b.T
    return 2.0 * a @ b.T - (a * a).sum(-1, keepdim=True) - (b * b).sum(-1).unsqueeze(0)  # "l2": -||a - b||^2


def pairwise_similarity(a: Tensor, b: Tensor, similarity: str = "cosine") -> Tensor:
    """Row-by-row similarity: (..., d) x (..., d) -> (...)."""
    check_loss_similarity("pairwise_similarity", similarity)
    if similarity == "cosine":
        return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
    if similarity == "ip":
        return (a * b).sum(-1)
    return -((a - b) ** 2).sum(-1)  # "l2": -||a - b||^2


def distance_matrix(a: Tensor, b: Tensor | None = None, distance: str = "l2") -> Tensor:
    """All-pairs distance: (n, d) x (m, d) -> (n, m); ``b=None`` means ``b = a`` (zero diagonal)."""
    same = b is None
    b = a if b is None else b
    if distance == "cosine":
        return 1.0 - F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    vocabulary.check_distance("distance_matrix", distance)
    # ||a - b||^2 = ||a||^2 - 2 <a, b> + ||b||^2 (one matmul instead of an (n, m, d) tensor)
    sq = (a * a).sum(-1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(-1).unsqueeze(0)
    if same:  # the diagonal is exactly 0, not a rounding error away from it
        sq = sq * (1.0 - torch.eye(a.shape[0], dtype=sq.dtype, device=sq.device))
    sq = sq.clamp_min(0.0)
    return sq if distance == "squared_l2" else _safe_sqrt(sq)


def pairwise_distance(a: Tensor, b: Tensor, distance: str = "l2") -> Tensor:
    """Row-by-row distance: (..., d) x (..., d) -> (...)."""
    if distance == "cosine":
        return 1.0 - pairwise_similarity(a, b, "cosine")
    vocabulary.check_distance("pairwise_distance", distance)
    sq = ((a - b) ** 2).sum(-1)
    return sq if distance == "squared_l2" else _safe_sqrt(sq)
