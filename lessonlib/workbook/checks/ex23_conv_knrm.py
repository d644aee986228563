"""Exercise 23 (17_kernel_models §4.1): Conv-KNRM, n-gram convolutions and cross-matched kernel pooling."""

from __future__ import annotations

import numpy as np

from lessonlib.interaction.conv_knrm import ConvKNRM, ngram_mask
from lessonlib.interaction.knrm import (
    kernel_mus,
    kernel_pooling,
    kernel_sigmas,
    soft_tf,
)
from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix
from lessonlib.workbook.checks.cases import padding_mask, tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _case(rng: np.random.Generator, b: int, lq: int, ld: int, dim: int, n_filters: int, max_ngram: int, n_kernels: int,
          q_mask: np.ndarray | None = None, d_mask: np.ndarray | None = None) -> dict:
    q_mask = padding_mask(rng, b, lq) if q_mask is None else q_mask
    d_mask = padding_mask(rng, b, ld) if d_mask is None else d_mask
    vocab = rng.normal(size=(6, dim))  # a vocabulary of 6 words: repeated words give exact n-gram matches
    return {"q_emb": tensor(vocab[rng.integers(0, 6, size=(b, lq))]), "q_mask": tensor(q_mask),
            "d_emb": tensor(vocab[rng.integers(0, 6, size=(b, ld))]), "d_mask": tensor(d_mask),
            "conv_weights": [tensor(rng.normal(size=(n_filters, dim, h)) / np.sqrt(dim * h)) for h in range(1, max_ngram + 1)],
            "conv_biases": [tensor(rng.normal(size=n_filters) * 0.1) for _ in range(max_ngram)],
            "mus": tensor(np.array(kernel_mus(n_kernels))), "sigmas": tensor(np.array(kernel_sigmas(n_kernels)))}


def cases(rng: np.random.Generator) -> list[Case]:
    out = [Case(name, _case(rng, *shape)) for name, shape in [
        ("unigrams only (H = 1): K-NRM on convolved vectors", (2, 4, 8, 6, 5, 1, 11)),
        ("uni- and bigrams: 4 cross-matched blocks", (2, 4, 9, 6, 5, 2, 11)),
        ("n-grams up to 3, 5 kernels", (3, 5, 10, 8, 4, 3, 5)),
        ("one query, one filter", (1, 3, 6, 4, 1, 2, 11))]]
    out.append(Case("a query of 2 tokens has no trigram: its trigram blocks are 0",
                    _case(rng, 2, 2, 8, 6, 4, 3, 11, q_mask=np.ones((2, 2), np.int64))))
    out.append(Case("padding inside a window: an n-gram is real only if all its tokens are",
                    _case(rng, 2, 5, 7, 6, 4, 3, 11, q_mask=np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]]),
                          d_mask=np.array([[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0, 0]]))))
    out.append(Case("a document of one real token: no document bigram, log 1e-10 per real query n-gram",
                    _case(rng, 1, 3, 5, 6, 3, 2, 11, q_mask=np.ones((1, 3), np.int64), d_mask=np.array([[1, 0, 0, 0, 0]]))))
    return out


def reference(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas):
    """ConvKNRM.features with the given convolutions and kernels; every token gets its own embedding row."""
    import torch

    b, lq, dim = q_emb.shape
    table = torch.cat([q_emb.reshape(-1, dim), d_emb.reshape(-1, dim)])
    model = ConvKNRM(TokenEmbedding(table), n_filters=conv_weights[0].shape[0], max_ngram=len(conv_weights),
                     n_kernels=len(mus)).double()
    with torch.no_grad():
        for conv, w, bias in zip(model.convs, conv_weights, conv_biases):
            conv.weight.copy_(w)
            conv.bias.copy_(bias)
        model.mus.copy_(mus)
        model.sigmas.copy_(sigmas)
        q_ids = torch.arange(b * lq).reshape(b, lq)
        d_ids = b * lq + torch.arange(d_emb.shape[0] * d_emb.shape[1]).reshape(d_emb.shape[:2])
        return model.features(q_ids, q_mask, d_ids, d_mask)


def _features(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas, cross=True, all_tokens=True, relu=True):
    import torch
    import torch.nn.functional as F

    def ngrams(emb, mask):
        out = []
        for w, bias in zip(conv_weights, conv_biases):
            h = w.shape[2]
            if emb.shape[1] < h:
                out.append((emb.new_zeros(emb.shape[0], 0, w.shape[0]), mask.new_zeros(mask.shape[0], 0)))
                continue
            g = F.conv1d(emb.transpose(1, 2), w, bias).transpose(1, 2)
            m = mask.unfold(1, h, 1).min(dim=-1).values if all_tokens else mask[:, : mask.shape[1] - h + 1]
            out.append((torch.relu(g) if relu else g, m))
        return out

    feats = []
    for a, (q, qm) in enumerate(ngrams(q_emb, q_mask)):
        for c, (d, dm) in enumerate(ngrams(d_emb, d_mask)):
            if cross or a == c:
                M = F.normalize(q, dim=-1, eps=1e-8) @ F.normalize(d, dim=-1, eps=1e-8).transpose(1, 2)
                tf = (torch.exp(-((M[..., None] - mus) ** 2) / (2 * sigmas**2)) * dm[:, None, :, None]).sum(2)
                feats.append((0.01 * torch.log(tf.clamp(min=1e-10)) * qm[:, :, None]).sum(1))
    return torch.cat(feats, dim=-1)


def wrong_same_sizes_only(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas):
    return _features(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas, cross=False)


def wrong_first_token_mask(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas):
    return _features(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas, all_tokens=False)


def wrong_no_relu(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas):
    return _features(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas, relu=False)


register(ExerciseCheck(
    id="conv_knrm_features", title="Conv-KNRM: n-gram convolutions and cross-matched kernel pooling",
    practises="17_kernel_models — Training K-NRM and Conv-KNRM (Day 10.2 §4.1)",
    cases=cases, reference=reference,
    hint="for each size h: g = relu(conv1d(emb.transpose(1, 2), W_h, b_h)).transpose(1, 2) and the n-gram mask = "
         "min of the token mask over each window (mask.unfold(1, h, 1)); then for every (query size, document size) "
         "pair: cosine matrix, K-NRM kernel pooling over real n-grams; concatenate, query size outer.",
    wrong={
        "cross-match: pool EVERY (query n-gram size, document n-gram size) pair, H*H blocks, not only equal sizes.":
            wrong_same_sizes_only,
        "an n-gram is real only when ALL its h tokens are real: its mask is the minimum of the token mask over the "
        "window, not the mask of its first token.": wrong_first_token_mask,
        "each n-gram vector is relu(conv(...) + b): the ReLU is missing.": wrong_no_relu,
    },
    blocks=(ConvKNRM, ngram_mask, kernel_pooling, soft_tf, cosine_matrix),
    atol=1e-6,
))
