"""Looking inside a cross-encoder: attention maps, saliency, counterfactual deletion, robustness.

Works with a transformers ``AutoModelForSequenceClassification`` (with its tokenizer) or a
``lessonlib.cross.CrossEncoder`` (its ``.model`` and ``.tokenizer`` are used). The pair is
encoded as ``[CLS] query [SEP] doc [SEP]`` and the score is logit 0.

* ``attention_maps``: softmax attention of every layer and head, (layers, heads, T, T); row t is
  where token t looks. ``query_doc_attention`` sums, per doc token, the attention it receives
  from query tokens.
* ``gradient_x_input``: a_t = sum_e (df/dx_te) * x_te on the word embeddings x (Shrikumar et al. 2016).
* ``integrated_gradients`` (Sundararajan, Taly, Yan 2017): with a baseline x' (here the [PAD]
  embedding at every query/doc position, special tokens kept),

      IG_te = (x_te - x'_te) * (1/m) sum_{s=1..m} df/dx_te (x' + (s - 1/2)/m (x - x'))

  (midpoint Riemann sum). Completeness: sum_te IG_te ~= f(x) - f(x'), error shrinks with m.
* ``counterfactual_deletion``: delete one word of the document (or query) at a time and
  rescore: delta_w = f(q, d) - f(q, d without w).
* ``add_typos`` / ``inject_terms``: perturbations for robustness tests (character edits in
  words; appending terms to the query).

>>> sal = token_saliency(model, tokenizer, "aspirin prevents stroke", "Aspirin lowers stroke risk ...")
>>> sal.tokens, sal.scores            # one attribution per token
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from lessonlib.core.scoring import ScoreFn

def _unwrap(model, tokenizer=None):
    """(transformers model, tokenizer) from a CrossEncoder or a plain HF model."""
    if hasattr(model, "model") and hasattr(model, "tokenizer") and not hasattr(model, "get_input_embeddings"):
        return model.model, tokenizer or model.tokenizer
    if tokenizer is None:
        raise ValueError("interpret: pass the tokenizer with a plain transformers model (tokenizer=None given)")
    return model, tokenizer


def encode_pair(tokenizer, query: str, doc: str, max_length: int = 256) -> dict:
    """``[CLS] q [SEP] d [SEP]`` as tensors with a batch dimension of 1 (doc truncated)."""
    return dict(tokenizer(query, doc, truncation="only_second", max_length=max_length, return_tensors="pt"))


@dataclass
class Attention:
    tokens: list[str]
    token_type_ids: np.ndarray  # (T,) 0 = [CLS] query [SEP], 1 = doc [SEP]
    maps: np.ndarray  # (layers, heads, T, T)

    @property
    def query_positions(self) -> np.ndarray:
        return np.array([i for i, (t, s) in enumerate(zip(self.tokens, self.token_type_ids)) if s == 0 and t not in ("[CLS]", "[SEP]")])

    @property
    def doc_positions(self) -> np.ndarray:
        return np.array([i for i, (t, s) in enumerate(zip(self.tokens, self.token_type_ids)) if s == 1 and t != "[SEP]"])


def attention_maps(model, tokenizer=None, query: str = "", doc: str = "", max_length: int = 256) -> Attention:
    """Attention probabilities of every layer and head for one pair: ``Attention.maps`` (L, H, T, T)."""
    hf, tok = _unwrap(model, tokenizer)
    enc = encode_pair(tok, query, doc, max_length)
    enc = {k: v.to(next(hf.parameters()).device) for k, v in enc.items()}
    previous = getattr(hf.config, "_attn_implementation", None)
    if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")  # fused kernels do not return the probabilities
    try:
        with torch.no_grad():
            out = hf(**enc, output_attentions=True)
    finally:
        if previous not in (None, "eager") and hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation(previous)
    if not out.attentions:
        raise RuntimeError("attention_maps: the model returned no attentions (output_attentions unsupported)")
    maps = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    types = enc.get("token_type_ids", torch.zeros_like(enc["input_ids"]))[0].cpu().numpy()
    return Attention(tokens, types, maps)


def query_doc_attention(att: Attention, layer: int = -1) -> np.ndarray:
    """Per document token: attention it receives from query tokens, summed over query tokens, mean over heads."""
    m = att.maps[layer].mean(0)  # (T, T)
    return m[np.ix_(att.query_positions, att.doc_positions)].sum(0)


def integrated_gradients(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, baseline: torch.Tensor | None = None, steps: int = 32, batch_size: int = 16
) -> torch.Tensor:
    """IG attributions (same shape as ``x``) of a scalar function ``f`` of a batch: f((n, *x.shape)) -> (n,).

    Midpoint Riemann sum with ``steps`` points on the straight line from ``baseline`` (zeros by default).
    """
    if steps < 1:
        raise ValueError(f"integrated_gradients(steps={steps}): steps must be >= 1")
    baseline = torch.zeros_like(x) if baseline is None else baseline
    if baseline.shape != x.shape:
        raise ValueError(f"integrated_gradients: baseline shape {tuple(baseline.shape)} != x shape {tuple(x.shape)}")
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    total = torch.zeros_like(x)
    for start in range(0, steps, batch_size):
        a = alphas[start : start + batch_size].view(-1, *([1] * x.dim()))
        path = (baseline.unsqueeze(0) + a * (x - baseline).unsqueeze(0)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(path).sum(), path)
        total += grad.sum(0)
    return (x - baseline) * total / steps


def gradient_x_input(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Gradient x input: (df/dx) * x for a scalar function of a batch, f((1, *x.shape)) -> (1,)."""
    xx = x.detach().unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(f(xx).sum(), xx)
    return grad[0] * x


@dataclass
class Saliency:
    tokens: list[str]
    token_type_ids: np.ndarray
    scores: np.ndarray  # (T,) attribution per token (summed over embedding dims)
    f_x: float
    f_baseline: float
    method: str

    @property
    def completeness_gap(self) -> float:
        """|sum of attributions - (f(x) - f(baseline))| (IG only; ~0 when enough steps)."""
        return abs(float(self.scores.sum()) - (self.f_x - self.f_baseline))


def token_saliency(
    model, tokenizer=None, query: str = "", doc: str = "", method: str = "ig", steps: int = 32, max_length: int = 256
) -> Saliency:
    """Per-token attribution of the cross-encoder score: ``method`` is ``"ig"`` or ``"grad_x_input"``.

    Attributions are computed on the word embeddings (position and segment embeddings are added
    inside the model and kept fixed); the IG baseline replaces every query/doc token by [PAD].
    """
    if method not in ("ig", "grad_x_input"):
        raise ValueError(f"token_saliency(method={method!r}): expected 'ig' or 'grad_x_input'")
    hf, tok = _unwrap(model, tokenizer)
    # a CrossEncoder scores through its own forward (its [CLS] head, or PooledCrossEncoder's pooled cosine);
    # a plain transformers model through its classification logits
    forward = model.forward if hf is not model else (lambda **kw: hf(**kw).logits[:, 0])
    was_training = hf.training
    hf.eval()
    device = next(hf.parameters()).device
    enc = {k: v.to(device) for k, v in encode_pair(tok, query, doc, max_length).items()}
    ids = enc["input_ids"]
    emb_layer = hf.get_input_embeddings()
    x = emb_layer(ids)[0].detach()
    special = torch.tensor([t in tok.all_special_ids for t in ids[0].tolist()], device=device)
    pad = emb_layer(torch.tensor([tok.pad_token_id], device=device))[0].detach()
    baseline = torch.where(special[:, None], x, pad.expand_as(x))
    extra = {k: v for k, v in enc.items() if k != "input_ids"}

    def f(batch_embeds: torch.Tensor) -> torch.Tensor:
        n = batch_embeds.shape[0]
        kw = {k: v.expand(n, -1) for k, v in extra.items()}
        return forward(inputs_embeds=batch_embeds, **kw)

    try:
        with torch.no_grad():
            f_x = float(f(x.unsqueeze(0))[0])
            f_b = float(f(baseline.unsqueeze(0))[0])
        attr = integrated_gradients(f, x, baseline, steps=steps) if method == "ig" else gradient_x_input(f, x)
    finally:
        hf.train(was_training)
    tokens = tok.convert_ids_to_tokens(ids[0].tolist())
    types = extra.get("token_type_ids", torch.zeros_like(ids))[0].cpu().numpy()
    return Saliency(tokens, types, attr.sum(-1).detach().cpu().numpy(), f_x, f_b, method)


def score_fn_for(model, tokenizer=None, max_length: int = 256, batch_size: int = 32) -> ScoreFn:
    """``score(queries, docs) -> np.ndarray`` for a CrossEncoder (its own ``score``) or an HF model."""
    if hasattr(model, "score") and hasattr(model, "tokenizer") and not hasattr(model, "get_input_embeddings"):
        return lambda qs, ds: np.asarray(model.score(list(qs), list(ds), batch_size=batch_size))
    hf, tok = _unwrap(model, tokenizer)

    @torch.no_grad()
    def score(qs: Sequence[str], ds: Sequence[str]) -> np.ndarray:
        hf.eval()
        out = []
        for s in range(0, len(qs), batch_size):
            enc = tok(list(qs[s : s + batch_size]), list(ds[s : s + batch_size]), truncation="only_second",
                      max_length=max_length, padding=True, return_tensors="pt")
            enc = {k: v.to(next(hf.parameters()).device) for k, v in enc.items()}
            out.append(hf(**enc).logits[:, 0].float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    return score


def counterfactual_deletion(score: ScoreFn, query: str, doc: str, side: str = "doc", max_words: int | None = None) -> list[tuple[str, float]]:
    """Delete each distinct word of the ``side`` ("doc" or "query") in turn; return (word, f(orig) - f(deleted)), largest first.

    A large positive delta means the score relied on that word.
    """
    if side not in ("doc", "query"):
        raise ValueError(f"counterfactual_deletion(side={side!r}): expected 'doc' or 'query'")
    text = doc if side == "doc" else query
    words = text.split()
    distinct = list(dict.fromkeys(w for w in words))[: max_words or None]
    variants = [" ".join(w for w in words if w != target) or "[UNK]" for target in distinct]
    qs = [query] * (len(variants) + 1) if side == "doc" else [query, *variants]
    ds = [doc, *variants] if side == "doc" else [doc] * (len(variants) + 1)
    s = score(qs, ds)
    deltas = [(w, float(s[0] - s[i + 1])) for i, w in enumerate(distinct)]
    return sorted(deltas, key=lambda x: -x[1])


_LONG_WORD = re.compile(r"[^\W\d_]{4,}")  # a run of 4+ letters: "cells." -> "cells", "West-Nile" -> "West", "Nile"


def add_typos(text: str, rate: float = 0.2, seed: int = 0) -> str:
    """Apply one character edit (swap, drop, replace or duplicate) to a ``rate`` share of the words of 4+ letters.

    A word is a run of letters, so punctuation, digits and hyphens around it stay as they are and
    "cells." or "interferon-induced" get typos too. The edit is inside the word (the first and the
    last letter are kept), and every chosen word really changes: an edit that would leave it as it
    was (swapping two equal letters, replacing a letter by itself) is drawn again.

    >>> add_typos("Aspirin lowers stroke risk.", rate=1.0, seed=0) != "Aspirin lowers stroke risk."
    True
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"add_typos(rate={rate}): rate must be in [0, 1]")
    rng = np.random.default_rng(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def edit(match: re.Match) -> str:
        w = match.group(0)
        if rng.random() >= rate:
            return w
        while True:
            i = int(rng.integers(1, len(w) - 1))
            kind = int(rng.integers(4))
            if kind == 0:
                new = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
            elif kind == 1:
                new = w[:i] + w[i + 1 :]
            elif kind == 2:
                new = w[:i] + letters[int(rng.integers(26))] + w[i + 1 :]
            else:
                new = w[:i] + w[i] + w[i:]
            if new != w:  # drops and duplicates always change the word, so this ends
                return new

    return _LONG_WORD.sub(edit, text)


def typo_queries(queries: Mapping[str, str], rate: float, seed: int = 0) -> dict[str, str]:
    """``add_typos(text, rate)`` for every query, each with its own seed (``seed * 100_003 + i``, i its
    position in id order), so that the edited word positions differ from query to query.

    (One seed for all queries would edit the same word positions of every claim — the first
    long word of all of them, say — which is one draw, not ``rate`` on average.)
    """
    return {q: add_typos(queries[q], rate, seed=seed * 100_003 + i) for i, q in enumerate(sorted(queries))}


def inject_terms(query: str, terms: Sequence[str]) -> str:
    """The query with ``terms`` appended (e.g. off-topic or adversarial words)."""
    return " ".join([query, *terms]).strip()
