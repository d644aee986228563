"""Sparse attention patterns for a cross-encoder: which token pairs may interact, and what that saves.

Full self-attention lets every token i attend to every token j of ``[CLS] q [SEP] d [SEP]``: the
score matrix has L x L entries per head and layer, so its cost grows as O(L^2). A sparse pattern
is a boolean mask M of shape (L, L), True where row token i may attend to column token j; only
those logits enter the softmax::

    A = softmax(Q K^T / sqrt(d_head) + log M)        (log M = 0 where allowed, -inf elsewhere)

Patterns (all keep the diagonal, so no row is empty):

* ``local`` (window w): |i - j| <= w — the sliding window of Longformer (Beltagy et al. 2020).
* ``strided`` (stride s): (i - j) mod s == 0 — the strided pattern of the Sparse Transformer
  (Child et al. 2019); combined with a local window it gives their "strided" factorisation.
* ``random`` (r keys): r random keys per row — the random part of BigBird (Zaheer et al. 2020).
* ``topk`` (content-based, k keys): each row keeps its k largest logits and drops the rest — the
  Explicit Sparse Transformer (Zhao et al. 2019). It needs the logits, so it runs as an attention
  function; Reformer (Kitaev et al. 2020, LSH) and the Routing Transformer (Roy et al. 2021,
  k-means) choose the keys *without* computing all L^2 logits, which is what makes it cheap.
* ``global_tokens``: ``"query"`` makes [CLS] and the query segment global (they attend to every
  token and every token attends to them: Longformer's global attention on question tokens), so
  query-document interaction survives any document pattern; ``"cls"`` only [CLS]; ``"none"``.

How it is applied: static patterns become a 4-D additive attention mask (B, 1, L, L) — 0 where
allowed, the dtype's minimum elsewhere — which transformers' BERT hands unchanged to every layer,
so the pretrained weights run as they are. ``topk`` is an attention function registered with
transformers' ``AttentionInterface`` and switched on for the duration of a ``with`` block.

Cost: a dense kernel with a mask still computes all L^2 logits; ``attention_flops`` counts what a
sparse kernel (banded / block-sparse matmuls) would do, from the measured ``density`` (the share
of allowed (row, key) pairs among real tokens).

>>> feats = ce.encode_pairs(["a claim"], ["an abstract ..."])
>>> m = pattern_mask("local", feats["attention_mask"], feats["token_type_ids"], window=8)   # (1, L, L) bool
>>> out = sparse_scores(ce, ["a claim"], ["an abstract ..."], pattern="local", window=8)
>>> out.scores.shape, out.density          # (1,) and the share of token pairs kept
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lessonlib.cross.flops import transformer_flops
from lessonlib.cross.data import length_sorted_batches

PATTERNS = ("full", "local", "strided", "random", "topk")
GLOBAL_TOKENS = ("query", "cls", "none")
_TOPK_IMPL = "lessonlib_topk"


# ------------------------------------------------------------------------------ mask builders
def local_mask(length: int, window: int) -> torch.Tensor:
    """(L, L) bool: True where |i - j| <= ``window`` (a band of width 2w + 1)."""
    if window < 0:
        raise ValueError(f"local_mask(window={window}): must be >= 0")
    pos = torch.arange(length)
    return (pos[:, None] - pos[None, :]).abs() <= window


def strided_mask(length: int, stride: int) -> torch.Tensor:
    """(L, L) bool: True where (i - j) mod ``stride`` == 0 (every stride-th token, the diagonal included)."""
    if stride < 1:
        raise ValueError(f"strided_mask(stride={stride}): must be >= 1")
    pos = torch.arange(length)
    return (pos[:, None] - pos[None, :]) % stride == 0


def random_mask(length: int, n_random: int, seed: int = 0) -> torch.Tensor:
    """(L, L) bool: each row attends to itself and ``n_random`` other keys drawn without replacement."""
    if n_random < 0:
        raise ValueError(f"random_mask(n_random={n_random}): must be >= 0")
    gen = torch.Generator().manual_seed(seed)
    mask = torch.eye(length, dtype=torch.bool)
    r = min(n_random, length - 1)
    if r > 0:
        noise = torch.rand(length, length, generator=gen)
        noise.fill_diagonal_(2.0)  # never pick the diagonal: it is already in
        picks = noise.topk(r, dim=1, largest=False).indices
        mask.scatter_(1, picks, True)
    return mask


def pattern_mask(
    pattern: str,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    *,
    window: int = 16,
    stride: int = 8,
    n_random: int = 8,
    global_tokens: str = "query",
    seed: int = 0,
) -> torch.Tensor:
    """The (B, L, L) boolean mask of ``pattern`` for a padded batch.

    ``attention_mask`` (B, L) marks real tokens (1) and padding (0); ``token_type_ids`` (B, L) marks
    the query segment (0) and the document segment (1), needed for ``global_tokens="query"``.
    Keys that are padding are never allowed; the diagonal always is. ``topk`` and ``full`` give the
    full mask (top-k chooses its keys inside the attention function).
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern_mask(pattern={pattern!r}): expected one of {PATTERNS}")
    if global_tokens not in GLOBAL_TOKENS:
        raise ValueError(f"pattern_mask(global_tokens={global_tokens!r}): expected one of {GLOBAL_TOKENS}")
    if attention_mask.dim() != 2:
        raise ValueError(f"pattern_mask(attention_mask): expected shape (B, L), got {tuple(attention_mask.shape)}")
    b, length = attention_mask.shape
    real = attention_mask.bool().cpu()
    if pattern in ("full", "topk"):
        base = torch.ones(length, length, dtype=torch.bool)
    elif pattern == "local":
        base = local_mask(length, window)
    elif pattern == "strided":
        base = strided_mask(length, stride)
    else:
        base = random_mask(length, n_random, seed)
    mask = base.unsqueeze(0).repeat(b, 1, 1)
    if global_tokens != "none" and pattern not in ("full", "topk"):
        is_global = torch.zeros(b, length, dtype=torch.bool)
        is_global[:, 0] = True  # [CLS]
        if global_tokens == "query":
            if token_type_ids is None:
                raise ValueError("pattern_mask(global_tokens='query'): token_type_ids are needed to find the query")
            is_global |= (token_type_ids.cpu() == 0) & real
        mask |= is_global[:, :, None] | is_global[:, None, :]
    mask &= real[:, None, :]  # never attend to padding
    mask |= torch.eye(length, dtype=torch.bool)[None]
    return mask.to(attention_mask.device)


def density(mask: torch.Tensor, attention_mask: torch.Tensor) -> float:
    """Share of allowed (row, key) pairs among pairs of real tokens: sum M[real, real] / sum_b n_b^2."""
    real = attention_mask.bool().to(mask.device)
    pair = real[:, :, None] & real[:, None, :]
    total = int(pair.sum())
    return float((mask & pair).sum()) / total if total else 0.0


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, L, L) bool -> (B, 1, L, L) additive mask: 0 where allowed, ``finfo(dtype).min`` elsewhere."""
    out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    out.masked_fill_(~mask, torch.finfo(dtype).min)
    return out[:, None]


def attention_flops(length: float, density: float = 1.0, hidden: int = 384, layers: int = 6,
                    intermediate: int = 1536, topk: int | None = None) -> dict[str, float]:
    """FLOPs (2 per multiply-add) of one sequence of ``length`` tokens through a BERT encoder.

    attention = density * 4 * layers * L^2 * hidden        (Q K^T and A V over the allowed pairs)
    dense     = 2 * layers * L * (4 * hidden^2 + 2 * hidden * intermediate)   (Q, K, V, O; FFN)
    (the counts of ``lessonlib.cross.flops.transformer_flops``). For ``topk`` the logits are
    computed in full (L^2) and only A V is sparse (k keys per row). MiniLM-L6: hidden 384, 6
    layers, FFN 1536.
    """
    per_token, per_pair = transformer_flops(1, hidden, intermediate, layers)  # linear per token, quadratic per (i, j)
    L = float(length)
    if topk is not None:
        attn = per_pair / 2 * (L * L + L * min(topk, L))
    else:
        attn = per_pair * L * L * density
    dense = per_token * L
    return {"attention": attn, "dense": dense, "total": attn + dense}


# ------------------------------------------------------------------------------ content-based top-k
def topk_attention_forward(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                           attention_mask: torch.Tensor | None, scaling: float | None = None,
                           dropout: float = 0.0, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention that keeps each row's ``k`` largest logits (``module.config.lessonlib_topk``).

    Shapes as transformers' eager attention: query/key/value (B, heads, L, d_head), mask
    (B, 1, L, L) additive -> output (B, L, heads, d_head), weights (B, heads, L, L).
    """
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    logits = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        logits = logits + attention_mask
    k = min(int(getattr(module.config, "lessonlib_topk", logits.shape[-1])), logits.shape[-1])
    kth = logits.topk(k, dim=-1).values[..., -1:]
    logits = logits.masked_fill(logits < kth, torch.finfo(logits.dtype).min)
    weights = torch.nn.functional.softmax(logits, dim=-1)
    weights = torch.nn.functional.dropout(weights, p=dropout, training=module.training)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


@contextlib.contextmanager
def topk_attention(model: torch.nn.Module, k: int) -> Iterator[None]:
    """Within the block, every attention layer of ``model`` (a transformers model) keeps k keys per row."""
    from transformers import AttentionInterface

    if k < 1:
        raise ValueError(f"topk_attention(k={k}): must be >= 1")
    AttentionInterface.register(_TOPK_IMPL, topk_attention_forward)
    configs = {id(m.config): m.config for m in model.modules() if hasattr(m, "config")}
    saved = {i: (c._attn_implementation, getattr(c, "lessonlib_topk", None)) for i, c in configs.items()}
    try:
        for c in configs.values():
            c._attn_implementation = _TOPK_IMPL
            c.lessonlib_topk = int(k)
        yield
    finally:
        for i, c in configs.items():
            c._attn_implementation = saved[i][0]
            if saved[i][1] is None:
                del c.lessonlib_topk
            else:
                c.lessonlib_topk = saved[i][1]


# ------------------------------------------------------------------------------ scoring
@dataclass
class SparseScores:
    """Scores (n,) under a pattern, the measured ``density``, and the pairs' real lengths in tokens."""

    scores: np.ndarray
    density: float
    mean_length: float
    mean_sq_length: float
    pattern: str
    topk: int | None = None

    def flops(self, **model_dims) -> dict[str, float]:
        """Mean FLOPs per pair (``attention_flops`` summed over the pairs' real lengths and density)."""
        rms = float(np.sqrt(self.mean_sq_length))
        attn = attention_flops(rms, self.density, topk=self.topk, **model_dims)["attention"]
        dense = attention_flops(self.mean_length, 1.0, **model_dims)["dense"]
        return {"attention": attn, "dense": dense, "total": attn + dense}


@torch.no_grad()
def sparse_scores(ce, queries: Sequence[str], docs: Sequence[str], pattern: str = "local", *,
                  batch_size: int = 32, topk: int = 32, **mask_knobs) -> SparseScores:
    """Score (query, doc) pairs with a ``CrossEncoder`` whose attention follows ``pattern``.

    Pairs are cut to ``ce.max_length`` (head truncation); ``mask_knobs`` go to ``pattern_mask``
    (``window``, ``stride``, ``n_random``, ``global_tokens``, ``seed``). For ``topk``, ``density``
    is k / n per row (the share of keys kept), averaged over real tokens.
    """
    queries, docs = list(queries), list(docs)
    if len(queries) != len(docs):
        raise ValueError(f"sparse_scores: {len(queries)} queries but {len(docs)} documents")
    was_training = ce.model.training
    ce.model.eval()
    out = np.zeros(len(queries), dtype=np.float32)
    allowed = total = tokens = 0.0
    ctx = topk_attention(ce.model, topk) if pattern == "topk" else contextlib.nullcontext()
    with ctx:
        for idx in length_sorted_batches([len(q) + len(d) for q, d in zip(queries, docs)], batch_size):
            feats = ce.encode_pairs([queries[i] for i in idx], [docs[i] for i in idx])
            am = feats["attention_mask"]
            mask = pattern_mask(pattern, am, feats.get("token_type_ids"), **mask_knobs)
            n = am.sum(1).float()
            if pattern == "topk":
                allowed += float((n * torch.clamp(n, max=topk)).sum())
            else:
                real = am.bool()
                allowed += float((mask & real[:, :, None] & real[:, None, :]).sum())
            total += float((n * n).sum())
            tokens += float(n.sum())
            inputs = {k: v for k, v in feats.items() if k != "attention_mask"}
            scores = ce(**inputs, attention_mask=additive_mask(mask, torch.float32))  # CrossEncoder.forward
            out[idx] = scores.float().cpu().numpy()
    ce.model.train(was_training)
    n_pairs = max(len(queries), 1)
    return SparseScores(out, allowed / total if total else 0.0, tokens / n_pairs, total / n_pairs, pattern,
                        topk if pattern == "topk" else None)
