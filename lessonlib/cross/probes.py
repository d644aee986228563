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


@torch.no_grad()
def manual_attention(model, query: str, doc: str, layer: int = 0, max_length: int = 128) -> ManualAttention:
    """softmax(Q Kᵀ/√d_h + mask) of BERT layer ``layer`` from its weights, and the model's probabilities."""
    hf, tok = _hf(model)
    enc = tok(query, doc, truncation="only_second", max_length=max_length, return_tensors="pt")
    enc = {k: v.to(next(hf.parameters()).device) for k, v in enc.items()}
    previous = getattr(hf.config, "_attn_implementation", None)
    if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")  # fused kernels do not return the probabilities
    try:
        out = hf(**enc, output_hidden_states=True, output_attentions=True)
    finally:
        if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation(previous)
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
