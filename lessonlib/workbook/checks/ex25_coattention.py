"""Exercise 25 (16_attention_interaction §4.3): co-attention, the two attention maps of one similarity matrix."""

from __future__ import annotations

import numpy as np

from lessonlib.interaction.coattention import CoAttentionRanker, masked_softmax
from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix
from lessonlib.workbook.checks.cases import padding_mask, tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _case(rng: np.random.Generator, b: int, lq: int, ld: int, e: int, h: int, match_attention: float,
          q_mask: np.ndarray | None = None, d_mask: np.ndarray | None = None, repeat: bool = False) -> dict:
    q_mask = padding_mask(rng, b, lq) if q_mask is None else q_mask
    d_mask = padding_mask(rng, b, ld) if d_mask is None else d_mask
    q_emb = rng.normal(size=(b, lq, e)) * q_mask[:, :, None]  # padding positions are zero vectors
    d_emb = rng.normal(size=(b, ld, e))
    d_emb[:, 1] = q_emb[:, 0]  # an exact match of the first query token
    if repeat:
        d_emb[:, 2] = d_emb[:, 1]  # the same token twice: equal attention
    d_emb = d_emb * d_mask[:, :, None]
    return {"q_emb": tensor(q_emb), "q_mask": tensor(q_mask), "d_emb": tensor(d_emb), "d_mask": tensor(d_mask),
            "P": tensor(rng.normal(size=(h, e)) / np.sqrt(e)), "p": tensor(rng.normal(size=h) * 0.1),
            "w": tensor(rng.normal(size=3 * h)), "w_bias": float(rng.normal()), "match_attention": match_attention}


def cases(rng: np.random.Generator) -> list[Case]:
    def full(b, n):
        return np.ones((b, n), np.int64)

    return [
        Case("one pair, no padding", _case(rng, 1, 3, 6, 5, 4, 5.0, full(1, 3), full(1, 6))),
        Case("a padded batch of 3", _case(rng, 3, 4, 7, 6, 5, 5.0)),
        Case("match_attention = 0: plain trilinear (BiDAF) attention", _case(rng, 2, 4, 6, 5, 4, 0.0)),
        Case("a strong match channel (20): attention follows the exact match", _case(rng, 2, 3, 8, 6, 4, 20.0, full(2, 3))),
        Case("a one-token query: every row of A_dq is [1]", _case(rng, 2, 1, 5, 4, 3, 5.0, full(2, 1))),
        Case("a repeated document token gets equal attention", _case(rng, 1, 3, 5, 4, 4, 5.0, full(1, 3), full(1, 5), repeat=True)),
        Case("padding inside both sides", _case(rng, 2, 5, 6, 4, 3, 5.0, np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]),
                                                np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]]))),
    ]


def reference(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention):
    """CoAttentionRanker.attention with the given projection and similarity weights (one embedding row per token)."""
    import torch

    b, lq, e = q_emb.shape
    table = torch.cat([q_emb.reshape(-1, e), d_emb.reshape(-1, e)])
    model = CoAttentionRanker(TokenEmbedding(table), hidden=P.shape[0], match_attention=match_attention).double()
    with torch.no_grad():
        model.proj.weight.copy_(P)
        model.proj.bias.copy_(p)
        model.w_sim.weight.copy_(w[None, :])
        model.w_sim.bias.fill_(w_bias)
        q_ids = torch.arange(b * lq).reshape(b, lq)
        d_ids = b * lq + torch.arange(d_emb.shape[0] * d_emb.shape[1]).reshape(d_emb.shape[:2])
        return model.attention(q_ids, q_mask, d_ids, d_mask)


def _maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention, mask=True, transpose=False,
          elementwise=True, raw_cosine=True):
    import torch
    import torch.nn.functional as F

    q, d = torch.tanh(q_emb @ P.T + p), torch.tanh(d_emb @ P.T + p)
    h = q.shape[-1]
    S = (q @ w[:h])[:, :, None] + (d @ w[h:2 * h])[:, None, :] + w_bias
    if elementwise:
        S = S + (q * w[2 * h:]) @ d.transpose(1, 2)
    a, c = (q_emb, d_emb) if raw_cosine else (q, d)
    M = F.normalize(a, dim=-1, eps=1e-8) @ F.normalize(c, dim=-1, eps=1e-8).transpose(1, 2)
    S = S + match_attention * M * q_mask[:, :, None] * d_mask[:, None, :]
    A_qd = torch.softmax(S.masked_fill(d_mask[:, None, :] == 0, float("-inf")) if mask else S, dim=2)
    if transpose:
        return A_qd, A_qd.transpose(1, 2)
    St = S.transpose(1, 2)
    return A_qd, torch.softmax(St.masked_fill(q_mask[:, None, :] == 0, float("-inf")) if mask else St, dim=2)


def wrong_no_mask(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention):
    return _maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention, mask=False)


def wrong_transposed_map(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention):
    return _maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention, transpose=True)


def wrong_no_elementwise_term(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention):
    return _maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention, elementwise=False)


def wrong_projected_cosine(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention):
    return _maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention, raw_cosine=False)


register(ExerciseCheck(
    id="coattention_maps", title="Co-attention: query-to-document and document-to-query attention maps",
    practises="16_attention_interaction — Train the models: co-attention (Day 10.2 §4.3)",
    cases=cases, reference=reference,
    hint="q, d = tanh(emb @ P.T + p); S = (q @ w1)[:, :, None] + (d @ w2)[:, None, :] + (q * w3) @ d^T + w_bias + "
         "match_attention * cos(raw embeddings); A_qd = softmax over dim 2 with padded document tokens at -inf; "
         "A_dq = softmax of S^T over dim 2 with padded query tokens at -inf.",
    wrong={
        "padding tokens must get no attention: set their scores to -inf before each softmax.": wrong_no_mask,
        "A_dq is its own softmax of S^T over the QUERY tokens, not the transpose of A_qd (whose rows are normalised "
        "over the document).": wrong_transposed_map,
        "the trilinear similarity has three parts, w1.q_i + w2.d_j + w3.(q_i * d_j): the element-wise product term "
        "is missing.": wrong_no_elementwise_term,
        "the match channel is the cosine of the RAW embeddings e(q_i), e(d_j), before the projection.":
            wrong_projected_cosine,
    },
    blocks=(CoAttentionRanker, masked_softmax, cosine_matrix),
    atol=1e-6,
))
