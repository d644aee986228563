"""Temporal consistency: keep the embeddings of one document's versions close, the closer in time the closer."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, pairwise_similarity


class TemporalConsistencyLoss(nn.Module):
    r"""Weighted drift between the embeddings of two versions of the same item.

        w_i  = exp(−Δt_i / τ)                     (τ = ``time_scale``; τ = inf: w_i = 1)
        loss = Σ_i w_i (1 − s(a_i, b_i)) / Σ_i w_i

    ``a_i`` and ``b_i`` embed two versions of one document (an abstract and its revision, a page
    before and after an edit) taken ``Δt_i`` apart. Used as a regulariser next to the retrieval
    loss (L = L_retrieval + λ · L_temporal), it keeps an index built from older versions usable
    for the newer ones, and a document's identity stable across edits, while letting versions far
    apart in time drift. The smoothness term of dynamic embeddings (Yao et al. 2018, "Dynamic Word
    Embeddings for Evolving Semantic Discovery": λ Σ_t ||U_t − U_{t−1}||²), here on versions of
    documents. Taught in notebook 02 (§2.2 temporal consistency).

    Inputs: ``a``, ``b`` (B, d); ``dt`` (B,) or None (all weights 1). Output: scalar.

    >>> TemporalConsistencyLoss()(torch.ones(2, 3), torch.ones(2, 3)).abs().item() < 1e-6
    True
    """

    def __init__(self, time_scale: float = float("inf"), similarity: str = "cosine") -> None:
        super().__init__()
        if not time_scale > 0:
            raise ValueError(f"TemporalConsistencyLoss(time_scale={time_scale}): must be > 0")
        self.time_scale = float(time_scale)
        self.similarity = check_loss_similarity(type(self).__name__, similarity)

    def weights(self, dt: Tensor | None, batch: int) -> Tensor:
        """w_i = exp(−Δt_i / τ), (B,)."""
        if dt is None:
            return torch.ones(batch)
        dt = torch.as_tensor(dt, dtype=torch.float32)
        if (dt < 0).any():
            raise ValueError(f"{type(self).__name__}(dt): time gaps must be >= 0")
        return torch.exp(-dt / self.time_scale)

    def forward(self, a: Tensor, b: Tensor, dt: Tensor | None = None) -> Tensor:
        if a.dim() != 2 or a.shape != b.shape:
            raise ValueError(f"{type(self).__name__}(a, b): expected two (B, d) tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
        if dt is not None and torch.as_tensor(dt).shape != (a.shape[0],):
            raise ValueError(f"{type(self).__name__}(dt): expected shape ({a.shape[0]},), got {tuple(torch.as_tensor(dt).shape)}")
        w = self.weights(dt, a.shape[0]).to(a.device, a.dtype)
        drift = 1.0 - pairwise_similarity(a, b, self.similarity)
        return (w * drift).sum() / w.sum().clamp_min(1e-12)

    def extra_repr(self) -> str:
        return f"time_scale={self.time_scale}, similarity={self.similarity!r}"
