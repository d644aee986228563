"""Pooling: from token vectors (B, T, h) and a padding mask (B, T) to one vector per text (B, h).

Four ways, each one line of maths:

- ``cls``:       e = h_0                                   (BERT's [CLS]; Devlin et al., 2019)
- ``mean``:      e = sum_t m_t h_t / sum_t m_t             (Sentence-BERT; Reimers & Gurevych, 2019)
- ``max``:       e_j = max_{t: m_t = 1} h_{t, j}           (InferSent; Conneau et al., 2017)
- ``attention``: a = softmax_t(w . h_t  over unmasked t),  e = sum_t a_t h_t
                 (learned attention pooling; Lin et al., 2017 "A structured self-attentive
                 sentence embedding", one head)

>>> pool = Pooling("mean", dim=384)
>>> pool(torch.randn(2, 5, 384), torch.ones(2, 5, dtype=torch.long)).shape
torch.Size([2, 384])
"""

from __future__ import annotations

import torch
from torch import nn

POOLING_MODES = ("cls", "mean", "max", "attention")


class Pooling(nn.Module):
    """Turn token vectors into one text vector; ``mode`` in ``cls | mean | max | attention``.

    Only ``attention`` has parameters: a scoring vector ``w`` (dim,) and a bias, initialised to
    zero so that training starts from mean pooling (uniform weights over real tokens).
    """

    def __init__(self, mode: str = "mean", dim: int | None = None) -> None:
        super().__init__()
        if mode not in POOLING_MODES:
            raise ValueError(f"Pooling(mode={mode!r}): mode must be one of {POOLING_MODES}")
        self.mode = mode
        self.dim = dim
        if mode == "attention":
            if not dim:
                raise ValueError("Pooling(mode='attention'): dim (the hidden size) is required")
            self.scorer = nn.Linear(dim, 1)
            nn.init.zeros_(self.scorer.weight)
            nn.init.zeros_(self.scorer.bias)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hidden (B, T, h), mask (B, T) of 0/1 -> (B, h)."""
        if self.mode == "cls":
            return hidden[:, 0]
        m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        if self.mode == "mean":
            # clamp: an all-padding row (never produced by a tokenizer) would divide by zero
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        if self.mode == "max":
            # padded positions get a very negative value so they never win the max (as ST does)
            return hidden.masked_fill(m == 0, -1e9).max(dim=1).values
        logits = self.scorer(hidden).squeeze(-1)  # (B, T)
        logits = logits.masked_fill(mask == 0, torch.finfo(logits.dtype).min)
        weights = torch.softmax(logits, dim=1).unsqueeze(-1)  # (B, T, 1)
        return (weights * hidden).sum(1)

    def attention_weights(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The softmax weights (B, T) that attention pooling puts on each token (for plots)."""
        if self.mode != "attention":
            raise ValueError(f"attention_weights: pooling mode is {self.mode!r}, not 'attention'")
        logits = self.scorer(hidden).squeeze(-1).masked_fill(mask == 0, torch.finfo(hidden.dtype).min)
        return torch.softmax(logits, dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
