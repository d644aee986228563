"""Conv-KNRM: convolutional kernel-based ranking over n-grams (Dai, Xiong, Callan, Liu 2018).

Each side's embeddings go through one 1-D convolution per n-gram size h = 1..H (F filters,
ReLU), giving n-gram vectors. Every query n-gram size is cross-matched with every document
n-gram size (H*H cosine matrices: unigram-to-bigram, trigram-to-unigram, ...), each matrix is
kernel-pooled as in K-NRM, and the H*H*K features feed a linear layer:

    g_h(t)      = relu(W_h [e_t; ...; e_{t+h-1}] + b_h)                 (B, L-h+1, F)
    M^{a,b}_ij  = cos(g_a(q)_i, g_b(d)_j)                                 a, b in 1..H
    phi         = concat_{a,b} kernel_pooling(M^{a,b})                    (B, H*H*K)
    score       = w^T phi + b

An n-gram counts as real only when all of its tokens are real, so padding never changes a score.

>>> model = ConvKNRM(TokenEmbedding.from_minilm(), n_filters=64, max_ngram=3)
>>> scores = model(q_ids, q_mask, d_ids, d_mask)   # (B,)
"""

from __future__ import annotations

import torch
from torch import nn

from lessonlib.interaction.knrm import kernel_mus, kernel_pooling, kernel_sigmas
from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix


def ngram_mask(mask: torch.Tensor, h: int) -> torch.Tensor:
    """(B, L) token mask -> (B, L-h+1) mask of n-grams whose h tokens are all real."""
    if mask.shape[1] < h:
        return mask.new_zeros(mask.shape[0], 0)
    windows = mask.unfold(1, h, 1)  # (B, L-h+1, h)
    return windows.min(dim=-1).values


class ConvKNRM(nn.Module):
    """Conv-KNRM ranker with n-gram sizes 1..``max_ngram`` and ``n_filters`` filters each."""

    def __init__(
        self,
        embedding: TokenEmbedding,
        n_filters: int = 64,
        max_ngram: int = 3,
        n_kernels: int = 11,
        sigma: float = 0.1,
        exact_sigma: float = 1e-3,
        cross_match: bool = True,
    ):
        super().__init__()
        if max_ngram < 1:
            raise ValueError(f"ConvKNRM(max_ngram={max_ngram}): must be >= 1")
        self.embedding = embedding
        self.max_ngram = max_ngram
        self.cross_match = cross_match
        self.convs = nn.ModuleList(nn.Conv1d(embedding.dim, n_filters, kernel_size=h) for h in range(1, max_ngram + 1))
        self.register_buffer("mus", torch.tensor(kernel_mus(n_kernels)))
        self.register_buffer("sigmas", torch.tensor(kernel_sigmas(n_kernels, sigma, exact_sigma)))
        n_pairs = max_ngram * max_ngram if cross_match else max_ngram
        self.dense = nn.Linear(n_pairs * n_kernels, 1)
        # Same prior as K-NRM (more exact / close matches is better), spread over the n-gram pairs.
        with torch.no_grad():
            self.dense.weight.copy_(torch.linspace(1.0, -0.2, n_kernels).repeat(n_pairs).unsqueeze(0) / n_pairs)
            self.dense.bias.zero_()

    def ngrams(self, ids: torch.Tensor, mask: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(vectors (B, L-h+1, F), mask (B, L-h+1)) for h = 1..max_ngram]."""
        e = self.embedding(ids, mask).transpose(1, 2)  # (B, D, L)
        out = []
        for h, conv in enumerate(self.convs, start=1):
            m = ngram_mask(mask, h)
            if e.shape[2] < h:
                out.append((e.new_zeros(e.shape[0], 0, conv.out_channels), m))
                continue
            g = torch.relu(conv(e)).transpose(1, 2)  # (B, L-h+1, F)
            out.append((g * m.unsqueeze(-1), m))
        return out

    def features(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        qs = self.ngrams(query_ids, query_mask)
        ds = self.ngrams(doc_ids, doc_mask)
        feats = []
        for a, (q, qm) in enumerate(qs):
            for b, (d, dm) in enumerate(ds):
                if not self.cross_match and a != b:
                    continue
                M = cosine_matrix(q, qm, d, dm)
                feats.append(kernel_pooling(M, qm, dm, self.mus, self.sigmas))
        return torch.cat(feats, dim=-1)

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self.dense(self.features(query_ids, query_mask, doc_ids, doc_mask)).squeeze(-1)
