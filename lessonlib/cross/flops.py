"""Interaction complexity: what one cross-encoder forward pass costs, and what re-ranking costs.

A transformer layer on T tokens of width h (feed-forward width i) does, in multiply-adds x 2 (FLOPs)::

    linear part     2 T (4 h^2 + 2 h i)      Q, K, V, output projections and the feed-forward
    quadratic part  4 T^2 h                   Q K^T and (softmax) V, over all heads together

so a pair of T = |q| + |d| + 3 tokens costs O(L (T h^2 + T^2 h)). The T^2 term is the all-to-all
interaction (Vaswani et al. 2017); quadratic / linear = T / (2 h + i), so it overtakes the linear
part only beyond T = 2 h + i (2,304 tokens for MiniLM, h = 384, i = 1,536), and memory for the
attention maps grows as heads x T^2 from the start.

Re-ranking n documents for one query costs n such passes at T = |q| + |d| + 3 with a cross-encoder,
but ONE pass at T = |q| + 2 with a dual encoder (documents were encoded offline) plus n dot
products of length h (Reimers & Gurevych 2019; Humeau et al. 2020, "Poly-encoders").

* :func:`transformer_flops`: the formula above, (linear, quadratic) for the whole model.
* :func:`forward_flops`: FLOPs of a real forward pass counted by ``torch.utils.flop_counter``.
* :func:`time_forward`: wall-clock ms of a forward pass per sequence length (best of ``repeats``).
* :func:`time_attention`: ms of the attention operation alone (softmax(QK^T/sqrt d) V), the T^2 part.
* :func:`rerank_flops`: query-time FLOPs of re-ranking n documents, cross vs dual.

>>> lin, quad = transformer_flops(256, hidden=384, intermediate=1536, layers=6)
>>> round(quad / lin, 3)   # = 256 / (2 * 384 + 1536): at 256 tokens the quadratic part is 11 % of the work
0.111
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch


def _shape(ce) -> tuple[int, int, int]:
    cfg = ce.model.config
    return int(cfg.hidden_size), int(cfg.intermediate_size), int(cfg.num_hidden_layers)


def transformer_flops(seq_len: int, hidden: int, intermediate: int, layers: int, batch_size: int = 1) -> tuple[int, int]:
    """(linear, quadratic) FLOPs of the encoder layers for ``batch_size`` sequences of ``seq_len`` tokens.

    linear = 2 B L T (4 h^2 + 2 h i), quadratic = 4 B L T^2 h (embeddings, pooler and head excluded).
    """
    if seq_len < 1 or batch_size < 1:
        raise ValueError(f"transformer_flops(seq_len={seq_len}, batch_size={batch_size}): both must be >= 1")
    T, h, i, L, B = int(seq_len), int(hidden), int(intermediate), int(layers), int(batch_size)
    return 2 * B * L * T * (4 * h * h + 2 * h * i), 4 * B * L * T * T * h


def _inputs(ce, seq_len: int, batch_size: int) -> dict[str, torch.Tensor]:
    tok = ce.tokenizer
    word = tok.convert_tokens_to_ids("the")
    ids = torch.full((batch_size, seq_len), word, dtype=torch.long)
    ids[:, 0] = tok.cls_token_id
    ids[:, -1] = tok.sep_token_id
    half = max(1, seq_len // 4)  # a short "query" segment, then the "document"
    ids[:, half] = tok.sep_token_id
    types = torch.zeros_like(ids)
    types[:, half + 1:] = 1
    dev = ce.device
    return {"input_ids": ids.to(dev), "token_type_ids": types.to(dev), "attention_mask": torch.ones_like(ids).to(dev)}


def forward_flops(ce, seq_len: int, batch_size: int = 1) -> int:
    """FLOPs of one forward pass of ``ce`` (a CrossEncoder) on ``batch_size`` pairs of ``seq_len`` tokens.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` with eager attention (the fused kernel is
    not counted); includes the pooler and the head, so it is slightly above :func:`transformer_flops`.
    """
    from torch.utils.flop_counter import FlopCounterMode

    max_pos = int(getattr(ce.model.config, "max_position_embeddings", seq_len))
    if not 1 <= seq_len <= max_pos:
        raise ValueError(f"forward_flops(seq_len={seq_len}): expected 1..{max_pos} (the model's positions)")
    hf = ce.model
    previous = getattr(hf.config, "_attn_implementation", None)
    switch = previous not in (None, "eager") and hasattr(hf, "set_attn_implementation")
    if switch:
        hf.set_attn_implementation("eager")
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            hf(**_inputs(ce, seq_len, batch_size))
    finally:
        if switch:
            hf.set_attn_implementation(previous)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def time_forward(ce, seq_lens: Sequence[int], batch_size: int = 1, repeats: int = 3) -> np.ndarray:
    """Milliseconds of one forward pass of ``batch_size`` pairs, for each length in ``seq_lens``.

    Each length is run once to warm up, then ``repeats`` times; the minimum is kept (the least
    disturbed by other work on the machine). Returns (len(seq_lens),) float64.
    """
    if repeats < 1:
        raise ValueError(f"time_forward(repeats={repeats}): must be >= 1")
    was_training = ce.model.training
    ce.model.eval()
    out = []
    try:
        for T in seq_lens:
            feats = _inputs(ce, int(T), batch_size)
            ce.model(**feats)
            best = float("inf")
            for _ in range(repeats):
                _sync(ce.device)
                t0 = time.perf_counter()
                ce.model(**feats)
                _sync(ce.device)
                best = min(best, time.perf_counter() - t0)
            out.append(best * 1000)
    finally:
        ce.model.train(was_training)
    return np.asarray(out)


@torch.no_grad()
def time_attention(seq_lens: Sequence[int], hidden: int = 384, heads: int = 12, repeats: int = 3,
                   device: str = "cpu", seed: int = 0) -> np.ndarray:
    """Milliseconds of softmax(Q K^T / sqrt(d)) V alone (one layer, all heads), per sequence length.

    Written out (matmul, softmax, matmul) rather than fused, so the T x T score matrix is really
    built, as in the eager attention of BERT. Best of ``repeats`` after one warm-up. (len(seq_lens),).
    """
    if hidden % heads:
        raise ValueError(f"time_attention(hidden={hidden}, heads={heads}): hidden must be a multiple of heads")
    g = torch.Generator().manual_seed(seed)
    d = hidden // heads
    out = []
    for T in seq_lens:
        q, k, v = (torch.randn(1, heads, int(T), d, generator=g).to(device) for _ in range(3))

        def attend():
            return (q @ k.transpose(-1, -2) / d**0.5).softmax(-1) @ v

        attend()
        best = float("inf")
        for _ in range(repeats):
            _sync(torch.device(device))
            t0 = time.perf_counter()
            attend()
            _sync(torch.device(device))
            best = min(best, time.perf_counter() - t0)
        out.append(best * 1000)
    return np.asarray(out)


def rerank_flops(n_docs: int, query_len: int, doc_len: int, hidden: int, intermediate: int, layers: int) -> dict[str, int]:
    """Query-time FLOPs of scoring ``n_docs`` candidates for one query.

    ``cross`` = n_docs forward passes over ``query_len + doc_len + 3`` tokens; ``dual`` = one pass over
    ``query_len + 2`` tokens plus n_docs dot products (2 h each); ``dual_offline`` = encoding the
    n_docs documents (``doc_len + 2`` tokens), paid once at indexing time, not per query.
    """
    if n_docs < 1:
        raise ValueError(f"rerank_flops(n_docs={n_docs}): must be >= 1")
    cross = sum(transformer_flops(query_len + doc_len + 3, hidden, intermediate, layers, n_docs))
    dual = sum(transformer_flops(query_len + 2, hidden, intermediate, layers)) + 2 * hidden * n_docs
    offline = sum(transformer_flops(doc_len + 2, hidden, intermediate, layers, n_docs))
    return {"cross": int(cross), "dual": int(dual), "dual_offline": int(offline)}
