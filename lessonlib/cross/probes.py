"""Probes that show what joint encoding does inside a cross-encoder (a BERT-style ``CrossEncoder``).

* :func:`doc_token_states` — the last layer's vectors of the document's tokens when the pair
  ``[CLS] q [SEP] d [SEP]`` is read together.
* :func:`query_dependence` — how much those document vectors change when only the query changes:
  mean cosine, over document tokens and over pairs of queries, of the same token's vector under two
  queries. A dual encoder's document vector is computed without the query, so its value is exactly 1;
  in a cross-encoder every layer lets document tokens attend to query tokens, so it is < 1.
* :func:`manual_attention` — one layer's self-attention recomputed from its weights,
  softmax(Q Kᵀ / √d_h + mask) with Q = X W_Q + b_Q, K = X W_K + b_K, per head (Vaswani et al. 2017),
  next to the probabilities the model itself returns (they must agree).
* :func:`multi_head_attention` — the whole multi-head block of one layer: Q, K, V projections split
  into H heads, softmax(Q_h K_hᵀ/√d_h) V_h per head, concatenation and output projection W_O (then
  BERT's residual, LayerNorm and feed-forward), checked against the model's probabilities and next
  hidden state.
* :func:`head_divergence`, :func:`attention_entropy` — how different the heads of a layer are (mean
  pairwise Jensen–Shannon divergence) and how spread out each head is (entropy of its rows).

>>> ce = CrossEncoder(max_length=128)                                                 # doctest: +SKIP
>>> query_dependence(ce, "Aspirin lowers stroke risk.", ["aspirin stroke", "cats"])   # doctest: +SKIP
0.83
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def _hf(model):
    return (model.model, model.tokenizer) if hasattr(model, "tokenizer") and hasattr(model, "model") else (model, None)


def _cut(tokenizer, doc: str, max_doc_tokens: int) -> str:
    ids = tokenizer(doc, add_special_tokens=False, truncation=True, max_length=max_doc_tokens)["input_ids"]
    return tokenizer.decode(ids)


@torch.no_grad()
def doc_token_states(model, query: str, doc: str, layer: int = -1, max_length: int = 256) -> np.ndarray:
    """Hidden states (n_doc_tokens, hidden) of the document tokens (segment 1, last [SEP] excluded) at ``layer``."""
    hf, tok = _hf(model)
    enc = tok(query, doc, truncation="only_second", max_length=max_length, return_tensors="pt")
    enc = {k: v.to(next(hf.parameters()).device) for k, v in enc.items()}
    out = hf(**enc, output_hidden_states=True)
    h = out.hidden_states[layer][0].float().cpu().numpy()
    types = enc["token_type_ids"][0].cpu().numpy()
    doc_pos = np.flatnonzero(types == 1)[:-1]  # drop the final [SEP]
    return h[doc_pos]


def query_dependence(model, doc: str, queries: Sequence[str], layer: int = -1, max_doc_tokens: int = 64) -> float:
    """Mean cosine of a document token's vector under two different queries (1.0 = query-independent).

    The document is cut to ``max_doc_tokens`` word pieces first, so every query sees the same
    document tokens. Averaged over tokens and over all pairs of ``queries`` (at least two).
    """
    if len(queries) < 2:
        raise ValueError(f"query_dependence(queries=...): need at least 2 queries, got {len(queries)}")
    _, tok = _hf(model)
    doc = _cut(tok, doc, max_doc_tokens)
    states = []
    for q in queries:
        h = doc_token_states(model, q, doc, layer=layer, max_length=512)
        states.append(h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12))
    n = min(len(s) for s in states)
    sims = [float((states[i][:n] * states[j][:n]).sum(1).mean()) for i in range(len(states)) for j in range(i + 1, len(states))]
    return float(np.mean(sims))


@dataclass
class ManualAttention:
    """One layer's attention recomputed by hand next to the model's own: both (heads, T, T)."""

    manual: np.ndarray
    model: np.ndarray
    tokens: list[str]
    token_type_ids: np.ndarray

    @property
    def max_abs_diff(self) -> float:
        return float(np.abs(self.manual - self.model).max())


def _eager_forward(model, query: str, doc: str, max_length: int):
    """The pair through the backbone with eager attention (fused kernels do not return the probabilities):
    (hf model, tokenizer, encoded inputs, outputs with hidden states and attentions)."""
    hf, tok = _hf(model)
    enc = tok(query, doc, truncation="only_second", max_length=max_length, return_tensors="pt")
    enc = {k: v.to(next(hf.parameters()).device) for k, v in enc.items()}
    previous = getattr(hf.config, "_attn_implementation", None)
    if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")
    try:
        out = hf(**enc, output_hidden_states=True, output_attentions=True)
    finally:
        if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation(previous)
    return hf, tok, enc, out


@torch.no_grad()
def manual_attention(model, query: str, doc: str, layer: int = 0, max_length: int = 128) -> ManualAttention:
    """softmax(Q Kᵀ/√d_h + mask) of BERT layer ``layer`` from its weights, and the model's probabilities."""
    hf, tok, enc, out = _eager_forward(model, query, doc, max_length)
    base = getattr(hf, hf.base_model_prefix)
    sa = base.encoder.layer[layer].attention.self
    x = out.hidden_states[layer][0]  # input of layer `layer`, (T, hidden)
    n_heads, d_h = sa.num_attention_heads, sa.attention_head_size
    q = sa.query(x).view(-1, n_heads, d_h).transpose(0, 1)  # (H, T, d_h)
    k = sa.key(x).view(-1, n_heads, d_h).transpose(0, 1)
    logits = q @ k.transpose(1, 2) / d_h**0.5
    mask = enc["attention_mask"][0].bool()
    logits = logits.masked_fill(~mask[None, None, :], float("-inf"))
    manual = logits.softmax(-1).float().cpu().numpy()
    reference = out.attentions[layer][0].float().cpu().numpy()
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return ManualAttention(manual, reference, tokens, enc["token_type_ids"][0].cpu().numpy())


@dataclass
class MultiHeadAttention:
    """One BERT layer's multi-head attention recomputed step by step from its weights.

    Shapes (T tokens, H heads, d_h = hidden / H): ``q``, ``k``, ``v`` (H, T, d_h) — X W + b split into heads;
    ``probs`` (H, T, T) = softmax(Q_h K_hᵀ / √d_h + mask); ``heads`` (H, T, d_h) = probs_h V_h;
    ``concat`` (T, hidden) = [head_1; …; head_H]; ``output`` (T, hidden) = concat W_O + b_O;
    ``layer_output`` (T, hidden) = the whole layer (residual + LayerNorm, feed-forward) from ``output``.
    ``model_probs`` and ``model_layer_output`` are the model's own (output_attentions / hidden_states).
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    probs: np.ndarray
    heads: np.ndarray
    concat: np.ndarray
    output: np.ndarray
    layer_output: np.ndarray
    model_probs: np.ndarray
    model_layer_output: np.ndarray
    tokens: list[str]
    token_type_ids: np.ndarray

    @property
    def max_prob_diff(self) -> float:
        """max |manual - model| over the (H, T, T) attention probabilities."""
        return float(np.abs(self.probs - self.model_probs).max())

    @property
    def max_output_diff(self) -> float:
        """max |manual - model| over the layer's output vectors (T, hidden)."""
        return float(np.abs(self.layer_output - self.model_layer_output).max())


@torch.no_grad()
def multi_head_attention(model, query: str, doc: str, layer: int = 0, max_length: int = 128) -> MultiHeadAttention:
    """Recompute BERT layer ``layer`` on the pair ``[CLS] q [SEP] d [SEP]`` (Vaswani et al. 2017, §3.2.2):

        Q = X W_Q + b_Q,  K = X W_K + b_K,  V = X W_V + b_V        split into H heads of d_h = hidden / H
        head_h = softmax(Q_h K_hᵀ / √d_h + mask) V_h                 (T, d_h) per head
        MultiHead(X) = [head_1; …; head_H] W_O + b_O                (T, hidden)

    then BERT's residual + LayerNorm and feed-forward, so ``layer_output`` can be checked against the
    model's next hidden state and ``probs`` against its ``output_attentions`` (see the dataclass' diffs).
    """
    hf, tok, enc, out = _eager_forward(model, query, doc, max_length)
    block = getattr(hf, hf.base_model_prefix).encoder.layer[layer]
    sa = block.attention.self
    x = out.hidden_states[layer][0].float()  # (T, hidden): the layer's input
    n_heads, d_h = sa.num_attention_heads, sa.attention_head_size

    def split(lin: torch.nn.Linear) -> torch.Tensor:  # (T, hidden) -> (H, T, d_h)
        return torch.nn.functional.linear(x, lin.weight.float(), lin.bias.float()).view(-1, n_heads, d_h).transpose(0, 1)

    q, k, v = split(sa.query), split(sa.key), split(sa.value)
    logits = q @ k.transpose(1, 2) / d_h**0.5
    mask = enc["attention_mask"][0].bool()
    probs = logits.masked_fill(~mask[None, None, :], float("-inf")).softmax(-1)
    heads = probs @ v  # (H, T, d_h)
    concat = heads.transpose(0, 1).reshape(x.shape[0], n_heads * d_h)  # (T, hidden)
    dense = block.attention.output.dense
    output = torch.nn.functional.linear(concat, dense.weight.float(), dense.bias.float())
    ln = block.attention.output.LayerNorm
    attn_out = torch.nn.functional.layer_norm(output + x, ln.normalized_shape, ln.weight.float(), ln.bias.float(), ln.eps)
    layer_output = block.output(block.intermediate(attn_out.to(x.dtype)), attn_out.to(x.dtype))  # feed-forward + residual + LN
    c = lambda t: t.float().cpu().numpy()  # noqa: E731
    return MultiHeadAttention(
        c(q), c(k), c(v), c(probs), c(heads), c(concat), c(output), c(layer_output),
        c(out.attentions[layer][0]), c(out.hidden_states[layer + 1][0]),
        tok.convert_ids_to_tokens(enc["input_ids"][0].tolist()), enc["token_type_ids"][0].cpu().numpy(),
    )


def head_divergence(maps: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Mean pairwise Jensen-Shannon divergence (bits, in [0, 1]) between the heads of each layer.

    ``maps`` (L, H, T, T) or (H, T, T) attention probabilities; for every query row (all, or ``rows``)
    JS(P_a, P_b) of two heads' distributions over keys, averaged over rows and over the H(H-1)/2 head
    pairs. 0 = all heads attend alike; 1 = disjoint supports. Returns (L,) (or a 0-d array for (H, T, T)).
    """
    m = np.asarray(maps, dtype=np.float64)
    single = m.ndim == 3
    if single:
        m = m[None]
    if rows is not None:
        m = m[:, :, np.asarray(rows)]
    n_heads = m.shape[1]
    if n_heads < 2:
        raise ValueError(f"head_divergence: need at least 2 heads, got {n_heads}")

    def ent(p: np.ndarray) -> np.ndarray:
        return -(p * np.log2(np.where(p > 0, p, 1.0))).sum(-1)

    out = np.zeros(m.shape[0])
    for a in range(n_heads):
        for b in range(a + 1, n_heads):
            pa, pb = m[:, a], m[:, b]
            js = ent((pa + pb) / 2) - (ent(pa) + ent(pb)) / 2  # (L, rows)
            out += js.mean(-1)
    out /= n_heads * (n_heads - 1) / 2
    return out[0] if single else out


def attention_entropy(maps: np.ndarray) -> np.ndarray:
    """Mean entropy (bits) of each head's attention rows: (..., T, T) -> (...). log2(T) = uniform."""
    p = np.asarray(maps, dtype=np.float64)
    return -(p * np.log2(np.where(p > 0, p, 1.0))).sum(-1).mean(-1)
