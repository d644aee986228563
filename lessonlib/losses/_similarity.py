"""Similarity and distance functions shared by the losses (torch in, torch out).

Similarities (higher = closer): ``"cosine"`` (dot product of L2-normalised vectors), ``"dot"``
(raw inner product), ``"euclidean"`` (minus the L2 distance). Distances (lower = closer):
``"euclidean"``, ``"squared_euclidean"``, ``"cosine"`` (1 - cosine similarity).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_SIMILARITIES = ("cosine", "dot", "euclidean")
_DISTANCES = ("euclidean", "squared_euclidean", "cosine")


def check_similarity(owner: str, similarity: str) -> str:
    if similarity not in _SIMILARITIES:
        raise ValueError(f"{owner}(similarity={similarity!r}): expected one of {_SIMILARITIES}")
    return similarity


def check_distance(owner: str, distance: str) -> str:
    if distance not in _DISTANCES:
        raise ValueError(f"{owner}(distance={distance!r}): expected one of {_DISTANCES}")
    return distance


def _safe_sqrt(x: Tensor) -> Tensor:
    # sqrt has an infinite gradient at 0 (e.g. the diagonal of a distance matrix): take the root only
    # where x > 0 and leave exact zeros (with a zero gradient) elsewhere.
    x = x.clamp_min(0.0)
    zero = x == 0
    return torch.where(zero, torch.zeros_like(x), torch.sqrt(torch.where(zero, torch.ones_like(x), x)))


def score_matrix(a: Tensor, b: Tensor, similarity: str = "cosine") -> Tensor:
    """All-pairs similarity: (n, d) x (m, d) -> (n, m)."""
    if similarity == "cosine":
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    if similarity == "dot":
        return a @ b.T
    if similarity == "euclidean":
        return -distance_matrix(a, b, "euclidean")
    raise ValueError(f"score_matrix(similarity={similarity!r}): expected one of {_SIMILARITIES}")


def pairwise_similarity(a: Tensor, b: Tensor, similarity: str = "cosine") -> Tensor:
    """Row-by-row similarity: (..., d) x (..., d) -> (...)."""
    if similarity == "cosine":
        return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
    if similarity == "dot":
        return (a * b).sum(-1)
    if similarity == "euclidean":
        return -pairwise_distance(a, b, "euclidean")
    raise ValueError(f"pairwise_similarity(similarity={similarity!r}): expected one of {_SIMILARITIES}")


def distance_matrix(a: Tensor, b: Tensor | None = None, distance: str = "euclidean") -> Tensor:
    """All-pairs distance: (n, d) x (m, d) -> (n, m); ``b=None`` means ``b = a`` (zero diagonal)."""
    same = b is None
    b = a if b is None else b
    if distance == "cosine":
        return 1.0 - F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    if distance not in ("euclidean", "squared_euclidean"):
        raise ValueError(f"distance_matrix(distance={distance!r}): expected one of {_DISTANCES}")
    # ||a - b||^2 = ||a||^2 - 2 <a, b> + ||b||^2 (one matmul instead of an (n, m, d) tensor)
    sq = (a * a).sum(-1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(-1).unsqueeze(0)
    if same:  # the diagonal is exactly 0, not a rounding error away from it
        sq = sq * (1.0 - torch.eye(a.shape[0], dtype=sq.dtype, device=sq.device))
    sq = sq.clamp_min(0.0)
    return sq if distance == "squared_euclidean" else _safe_sqrt(sq)


def pairwise_distance(a: Tensor, b: Tensor, distance: str = "euclidean") -> Tensor:
    """Row-by-row distance: (..., d) x (..., d) -> (...)."""
    if distance == "cosine":
        return 1.0 - pairwise_similarity(a, b, "cosine")
    sq = ((a - b) ** 2).sum(-1)
    if distance == "squared_euclidean":
        return sq
    if distance == "euclidean":
        return _safe_sqrt(sq)
    raise ValueError(f"pairwise_distance(distance={distance!r}): expected one of {_DISTANCES}")
