"""K-NRM: kernel-based neural ranking (Xiong, Dai, Callan, Liu, Power 2017).

From the cosine interaction matrix M (B, Lq, Ld), K Gaussian kernels turn each query token's
row into a soft histogram ("soft-TF": how many document tokens are about this similar):

    K_k(M_i) = sum_j exp(-(M_ij - mu_k)^2 / (2 sigma_k^2))            soft-TF, (B, Lq, K)
    phi_k    = sum_i log(max(K_k(M_i), 1e-10)) * 0.01                   log-sum pooling, (B, K)
    score    = w^T phi + b                                              (B,)

The kernel at mu = 1.0 with a tiny sigma counts exact matches; the others count soft matches
at mu = 0.9, 0.7, ..., -0.9. The 0.01 scale follows the authors' code (keeps the log sums small).
The paper puts tanh on the output; we keep it linear, which suits listwise softmax losses.

>>> model = KNRM(TokenEmbedding.from_minilm())
>>> scores = model(q_ids, q_mask, d_ids, d_mask)   # (B,)
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix


def kernel_mus(n_kernels: int = 11) -> list[float]:
    """Kernel centres: 1.0 (exact match) then n_kernels-1 centres evenly spread in (-1, 1)."""
    if n_kernels < 2:
        raise ValueError(f"kernel_mus(n_kernels={n_kernels}): need at least 2 kernels")
    step = 2.0 / (n_kernels - 1)
    return [1.0] + [1.0 - step / 2 - i * step for i in range(n_kernels - 1)]


def kernel_sigmas(n_kernels: int = 11, sigma: float = 0.1, exact_sigma: float = 1e-3) -> list[float]:
    """Kernel widths: ``exact_sigma`` for the exact-match kernel, ``sigma`` for the others."""
    return [exact_sigma] + [sigma] * (n_kernels - 1)


def soft_tf(M: torch.Tensor, d_mask: torch.Tensor, mus: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Soft term frequencies K_k(M_i) = sum_j exp(-(M_ij - mu_k)^2 / (2 sigma_k^2)) over real doc tokens.

    M (B, Lq, Ld), d_mask (B, Ld), mus/sigmas (K,) -> (B, Lq, K).
    """
    dm = d_mask[:, None, :].to(M.dtype)
    # One kernel at a time: peak memory (B, Lq, Ld) instead of (B, Lq, Ld, K).
    coefs = -0.5 / sigmas**2
    cols = [(torch.exp(torch.square(M - mu) * c) * dm).sum(dim=2) for mu, c in zip(mus, coefs)]
    return torch.stack(cols, dim=-1)


def kernel_pooling(
    M: torch.Tensor, q_mask: torch.Tensor, d_mask: torch.Tensor, mus: torch.Tensor, sigmas: torch.Tensor, scale: float = 0.01
) -> torch.Tensor:
    """Log-sum pooling of soft-TF over real query tokens: phi_k = scale * sum_i log(max(K_k(M_i), 1e-10)).

    Returns (B, K).
    """
    tf = soft_tf(M, d_mask, mus, sigmas)
    logs = torch.log(torch.clamp(tf, min=1e-10)) * scale
    return (logs * q_mask.unsqueeze(-1).to(logs.dtype)).sum(dim=1)


class KNRM(nn.Module):
    """K-NRM ranker: embeddings -> cosine matrix -> Gaussian kernel pooling -> linear score.

    Parameters: the K+1 weights of the final layer (plus the embeddings when not frozen).
    """

    def __init__(self, embedding: TokenEmbedding, n_kernels: int = 11, sigma: float = 0.1, exact_sigma: float = 1e-3):
        super().__init__()
        self.embedding = embedding
        self.n_kernels = n_kernels
        self.sigma = sigma
        self.exact_sigma = exact_sigma
        self.register_buffer("mus", torch.tensor(kernel_mus(n_kernels)))
        self.register_buffer("sigmas", torch.tensor(kernel_sigmas(n_kernels, sigma, exact_sigma)))
        self.dense = nn.Linear(n_kernels, 1)
        # Start close to "more (exact) matches is better" so little data is needed.
        with torch.no_grad():
            self.dense.weight.copy_(torch.linspace(1.0, -0.2, n_kernels).unsqueeze(0))
            self.dense.bias.zero_()

    def features(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        """The K kernel features phi (B, K)."""
        q = self.embedding(query_ids, query_mask)
        d = self.embedding(doc_ids, doc_mask)
        M = cosine_matrix(q, query_mask, d, doc_mask)
        return kernel_pooling(M, query_mask, doc_mask, self.mus, self.sigmas)

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self.dense(self.features(query_ids, query_mask, doc_ids, doc_mask)).squeeze(-1)
