"""Exercise 24 (18_tensor_interactions §4.2): the neural tensor network ranker's score."""

from __future__ import annotations

import numpy as np

from lessonlib.interaction.matrix import TokenEmbedding
from lessonlib.interaction.ntn import NeuralTensorLayer, NTNRanker
from lessonlib.workbook.checks.cases import padding_mask, tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _case(rng: np.random.Generator, b: int, lq: int, ld: int, h: int, k: int, W: np.ndarray | None = None,
          q_mask: np.ndarray | None = None) -> dict:
    q_mask = padding_mask(rng, b, lq) if q_mask is None else q_mask
    return {"q": tensor(rng.normal(size=(b, lq, h)) * 0.5), "d": tensor(rng.normal(size=(b, ld, h)) * 0.5),
            "q_mask": tensor(q_mask), "d_mask": tensor(padding_mask(rng, b, ld)),
            "W": tensor(rng.normal(size=(k, h, h)) / h if W is None else W),
            "V": tensor(rng.normal(size=(k, 2 * h)) * 0.3), "b": tensor(rng.normal(size=k) * 0.1), "u": tensor(rng.normal(size=k))}


def cases(rng: np.random.Generator) -> list[Case]:
    out = [Case(name, _case(rng, *shape)) for name, shape in [
        ("one pair, 4 slices", (1, 3, 5, 4, 4)), ("a padded batch of 3", (3, 4, 7, 6, 2)),
        ("one slice (k = 1)", (2, 3, 6, 5, 1)), ("8 slices, longer documents", (2, 5, 20, 4, 8))]]
    left, right = rng.normal(size=(3, 4, 1)), rng.normal(size=(3, 4, 1))
    out.append(Case("a rank-1 tensor, W_s = u_s v_s^T (the low-rank layer's slices)",
                    _case(rng, 2, 3, 6, 4, 3, W=left @ right.transpose(0, 2, 1))))
    out.append(Case("W_s = 10 I: every slice a scaled dot product (how NTNRanker starts)",
                    _case(rng, 2, 3, 6, 4, 2, W=np.stack([10 * np.eye(4)] * 2))))
    out.append(Case("a query of padding only: nothing to average, score 0",
                    _case(rng, 2, 3, 5, 4, 3, q_mask=np.array([[1, 1, 0], [0, 0, 0]]))))
    return out


def reference(q, d, q_mask, d_mask, W, V, b, u):
    """NTNRanker (full tensor, no identity term) with an identity projection and output weights u, bias 0."""
    import torch

    bsz, lq, h = q.shape
    table = torch.cat([q.reshape(-1, h), d.reshape(-1, h)])  # every token gets its own embedding row
    model = NTNRanker(TokenEmbedding(table), hidden=h, k=W.shape[0], rank=None, identity=None).double()
    with torch.no_grad():
        model.proj.weight.copy_(torch.eye(h))
        model.proj.bias.zero_()
        model.ntn.W.copy_(W)
        model.ntn.V.weight.copy_(V)
        model.ntn.V.bias.copy_(b)
        model.dense.weight.copy_(u[None, :])
        model.dense.bias.zero_()
        q_ids = torch.arange(bsz * lq).reshape(bsz, lq)
        d_ids = bsz * lq + torch.arange(d.shape[0] * d.shape[1]).reshape(d.shape[:2])
        return model(q_ids, q_mask, d_ids, d_mask)


def _score(q, d, q_mask, d_mask, W, V, b, u, pool="max", mask_doc=True, all_query=False, linear=True):
    import torch

    h = q.shape[-1]
    x = torch.einsum("bqi,kij,bdj->bqdk", q, W, d)
    if linear:
        x = x + (q @ V[:, :h].T)[:, :, None] + (d @ V[:, h:].T)[:, None] + b
    x = torch.tanh(x)
    if pool == "max":
        best = (x.masked_fill(d_mask[:, None, :, None] == 0, float("-inf")) if mask_doc else x).max(dim=2).values
    else:
        dm = d_mask[:, None, :, None].to(x.dtype)
        best = (x * dm).sum(2) / dm.sum(2).clamp(min=1)
    qm = q_mask[:, :, None].to(best.dtype)
    pooled = best.mean(1) if all_query else (best * qm).sum(1) / qm.sum(1).clamp(min=1)
    return pooled @ u


def wrong_mean_over_document(q, d, q_mask, d_mask, W, V, b, u):
    return _score(q, d, q_mask, d_mask, W, V, b, u, pool="mean")


def wrong_padding_can_be_the_max(q, d, q_mask, d_mask, W, V, b, u):
    return _score(q, d, q_mask, d_mask, W, V, b, u, mask_doc=False)


def wrong_averages_padded_query_tokens(q, d, q_mask, d_mask, W, V, b, u):
    return _score(q, d, q_mask, d_mask, W, V, b, u, all_query=True)


def wrong_no_linear_term(q, d, q_mask, d_mask, W, V, b, u):
    return _score(q, d, q_mask, d_mask, W, V, b, u, linear=False)


register(ExerciseCheck(
    id="ntn_score", title="A neural tensor network ranker: bilinear slices, max over the document, mean over the query",
    practises="18_tensor_interactions — Neural tensor networks and low-rank factorisations (Day 10.2 §4.2)",
    cases=cases, reference=reference,
    hint="pairs = tanh(einsum('bqi,kij,bdj->bqdk', q, W, d) + (q @ V[:, :H].T)[:, :, None] + (d @ V[:, H:].T)[:, None] + b); "
         "max over REAL document tokens (dim 2), mean over REAL query tokens (divide by max(count, 1)), then @ u.",
    wrong={
        "pool each slice with the MAX over the document's tokens (the best match of each query token), not the mean.":
            wrong_mean_over_document,
        "a padding document token must never be the max: set its values to -inf before taking it.":
            wrong_padding_can_be_the_max,
        "average over the REAL query tokens only: multiply by q_mask and divide by their number (at least 1).":
            wrong_averages_padded_query_tokens,
        "the layer is tanh(q^T W d + V [q; d] + b): the linear term V [q; d] + b is missing.": wrong_no_linear_term,
    },
    blocks=(NTNRanker, NeuralTensorLayer),
    atol=1e-6,
))
