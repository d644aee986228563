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

Reading a trained model: ``match_matrices`` returns the H*H matrices M^{a,b} themselves (for drawing),
``ngram_weight_share`` the share of the final layer's |w| on each (query n-gram, doc n-gram) block,
and ``drop_ngrams`` zeroes every feature that involves given n-gram sizes (their evidence removed,
since a constant 0 for every document changes no ranking), for ablations such as
:func:`ngram_ablation` (validation nDCG@10 with each n-gram size dropped).

>>> model = ConvKNRM(TokenEmbedding.from_minilm(), n_filters=64, max_ngram=3)
>>> scores = model(q_ids, q_mask, d_ids, d_mask)   # (B,)
>>> with drop_ngrams(model, {3}): scores_without_trigrams = model(q_ids, q_mask, d_ids, d_mask)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from lessonlib.core.runs import rank_documents
from lessonlib.evaluation.metrics import per_query_array
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

    def pairs(self) -> list[tuple[int, int]]:
        """The (query n-gram size, doc n-gram size) of each feature block, in feature order (1-based sizes)."""
        sizes = range(1, self.max_ngram + 1)
        return [(a, b) for a in sizes for b in sizes if self.cross_match or a == b]

    def match_matrices(self, query_ids, query_mask, doc_ids, doc_mask) -> dict[tuple[int, int], torch.Tensor]:
        """{(a, b): M^{a,b} (B, Lq-a+1, Ld-b+1)}: cosine of every query a-gram with every doc b-gram."""
        qs = self.ngrams(query_ids, query_mask)
        ds = self.ngrams(doc_ids, doc_mask)
        return {(a, b): cosine_matrix(*qs[a - 1], *ds[b - 1]) for a, b in self.pairs()}

    def features(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        qs = self.ngrams(query_ids, query_mask)
        ds = self.ngrams(doc_ids, doc_mask)
        dropped = getattr(self, "dropped_ngrams", frozenset())
        feats = []
        for a, b in self.pairs():
            (q, qm), (d, dm) = qs[a - 1], ds[b - 1]
            phi = kernel_pooling(cosine_matrix(q, qm, d, dm), qm, dm, self.mus, self.sigmas)
            feats.append(torch.zeros_like(phi) if a in dropped or b in dropped else phi)
        return torch.cat(feats, dim=-1)

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self.dense(self.features(query_ids, query_mask, doc_ids, doc_mask)).squeeze(-1)


def ngram_weight_share(model: ConvKNRM) -> np.ndarray:
    """(H, H) share of the final layer's sum |w| on each (query n-gram a, doc n-gram b) block of K kernels.

    Entry [a-1, b-1]; sums to 1 (blocks absent without ``cross_match`` are 0). |w| ignores how large and
    how variable each feature is, so read it next to an ablation (:func:`ngram_ablation`).
    """
    w = model.dense.weight.detach().abs().reshape(len(model.pairs()), -1).sum(1).cpu().numpy()
    share = np.zeros((model.max_ngram, model.max_ngram))
    for (a, b), v in zip(model.pairs(), w):
        share[a - 1, b - 1] = v
    return share / share.sum()


@contextmanager
def drop_ngrams(model: ConvKNRM, sizes: Iterable[int]) -> Iterator[ConvKNRM]:
    """Within the block, every feature whose query or document n-gram size is in ``sizes`` is 0."""
    sizes = frozenset(int(h) for h in sizes)
    if not sizes <= set(range(1, model.max_ngram + 1)):
        raise ValueError(f"drop_ngrams(sizes={sorted(sizes)}): n-gram sizes are 1..{model.max_ngram}")
    previous = getattr(model, "dropped_ngrams", frozenset())
    model.dropped_ngrams = previous | sizes
    try:
        yield model
    finally:
        model.dropped_ngrams = previous


def ngram_ablation(model: ConvKNRM, setup, qids: Sequence[str] | None = None, k: int = 100, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Per-query nDCG@10 on the validation claims (``setup.val_qids``, BM25 top-``k`` of train) of the
    model alone, as trained (``"all"``) and with each n-gram size h dropped (``"no h-grams"``): paired
    arrays in sorted query order. ``setup`` is a :class:`lessonlib.interaction.train.Setup`.

    The kernel features are computed once; each variant scores them with the blocks that involve its
    n-gram size zeroed, which is what :func:`drop_ngrams` does inside the model (tests check they agree).
    """
    qids = sorted(q for q in (setup.val_qids if qids is None else qids) if q in setup.train.qrels and q in setup.train_run)
    by_length = sorted(qids, key=lambda q: len(setup.queries.ids(f"train:{q}")))  # little query padding per batch
    pairs = [(q, d) for q in by_length for d in rank_documents(setup.train_run[q], k)]
    model.eval()
    feats = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as train.rerank_candidates: one intra-op thread is faster for these small batches
    try:
        with torch.inference_mode():
            for start in range(0, len(pairs), batch_size):
                chunk = pairs[start : start + batch_size]
                q_ids, q_mask = setup.queries.pad([f"train:{q}" for q, _ in chunk])
                d_ids, d_mask = setup.docs.pad([d for _, d in chunk])
                feats.append(model.features(q_ids, q_mask, d_ids, d_mask))
    finally:
        torch.set_num_threads(threads)
    with torch.inference_mode():
        phi = torch.cat(feats) if feats else torch.zeros(0, model.dense.in_features)
        w, b, n_k = model.dense.weight[0], model.dense.bias[0], len(model.mus)
        out = {}
        for name, sizes in [("all", set())] + [(f"no {h}-grams", {h}) for h in range(1, model.max_ngram + 1)]:
            keep = torch.tensor([0.0 if (a in sizes or c in sizes) else 1.0 for a, c in model.pairs()]).repeat_interleave(n_k)
            scores = (phi @ (w * keep.to(w)) + b).tolist()
            run: dict[str, dict[str, float]] = {q: {} for q in qids}
            for (q, d), v in zip(pairs, scores):
                run[q][d] = float(v)
            out[name] = per_query_array(setup.train.qrels, run, "ndcg@10", qids)
    return out
