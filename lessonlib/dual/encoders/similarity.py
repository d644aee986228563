"""Similarity between query and document vectors: a (Bq, d) x (Bd, d) -> (Bq, Bd) score matrix.
The names are lessonlib's one vocabulary (:mod:`lessonlib.core.similarity`):

- ``ip``:       s(q, d) = q . d                      (inner product; DPR, Karpukhin et al., 2020)
- ``cosine``:   s(q, d) = q . d / (|q| |d|)
- ``l2``:       s(q, d) = -|q - d|^2 = 2 q . d - |q|^2 - |d|^2   (negative squared distance, FAISS's L2)
- ``bilinear``: s(q, d) = q^T W d, W (d, d) learned, initialised to the identity (so it starts
                as ``ip``)

On unit vectors |q| = |d| = 1, so cosine = ip and -|q - d|^2 = 2 cos - 2: all three rank
documents identically. They differ only for unnormalised embeddings.

>>> sim = Similarity("cosine")
>>> sim(torch.randn(3, 8), torch.randn(5, 8)).shape
torch.Size([3, 5])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lessonlib.core.similarity import SIMILARITIES, check_similarity

__all__ = ["SIMILARITIES", "Similarity", "similarity_matrix"]


class Similarity(nn.Module):
    """Score every query against every document; ``kind`` in ``ip | cosine | l2 | bilinear``."""

    def __init__(self, kind: str = "cosine", dim: int | None = None) -> None:
        super().__init__()
        self.kind = check_similarity("Similarity", kind, param="kind")
        if kind == "bilinear":
            if not dim:
                raise ValueError("Similarity(kind='bilinear'): dim is required")
            self.weight = nn.Parameter(torch.eye(dim))

    def forward(self, q: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """q (Bq, dim), d (Bd, dim) -> (Bq, Bd)."""
        if self.kind == "cosine":
            return F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T
        if self.kind == "ip":
            return q @ d.T
        if self.kind == "l2":
            return 2 * q @ d.T - (q * q).sum(-1, keepdim=True) - (d * d).sum(-1).unsqueeze(0)
        return q @ self.weight @ d.T

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def similarity_matrix(q: np.ndarray, d: np.ndarray, kind: str = "cosine", weight: np.ndarray | None = None) -> np.ndarray:
    """numpy version of :class:`Similarity` for precomputed embeddings: (nq, dim), (nd, dim) -> (nq, nd)."""
    check_similarity("similarity_matrix", kind, param="kind")
    q = np.asarray(q, dtype=np.float32)
    d = np.asarray(d, dtype=np.float32)
    if kind == "cosine":
        qn = q / np.clip(np.linalg.norm(q, axis=1, keepdims=True), 1e-12, None)
        dn = d / np.clip(np.linalg.norm(d, axis=1, keepdims=True), 1e-12, None)
        return qn @ dn.T
    if kind == "ip":
        return q @ d.T
    if kind == "l2":
        return 2 * q @ d.T - (q * q).sum(1, keepdims=True) - (d * d).sum(1)[None, :]
    if weight is None:
        raise ValueError("similarity_matrix(kind='bilinear'): weight (dim, dim) is required")
    return q @ np.asarray(weight, dtype=np.float32) @ d.T
