"""Joint encoding, seen from inside: the pair's tokens, its embeddings, and who attends to whom.

A cross-encoder reads one sequence (Nogueira & Cho 2019, monoBERT; Devlin et al. 2019, BERT)::

    [CLS] q_1 .. q_m [SEP] d_1 .. d_n [SEP]          token_type (segment) ids 0 .. 0 0 | 1 .. 1 1

and embeds token t as ``LayerNorm(E_word[x_t] + E_pos[t] + E_seg[s_t])``: the segment embedding is
the only thing that tells the model which side of the pair a token is on (besides the [SEP]).
Self-attention then lets every token look at every other one, in every layer:

    a^{l,h}_{ij} = softmax_j(q_i . k_j / sqrt(d_head))     (row i: where token i looks)

so query tokens read the document *while* it is being encoded (deep interaction), unlike a dual
encoder whose document vector is fixed before any query is seen.

* :func:`pair_tokens`: the pair token by token with segment ids (the tokenisation ``score`` uses).
* :func:`embedding_parts`: word, position and segment embeddings and their LayerNormed sum.
* :func:`block_attention`: attention mass between groups ([CLS], query, doc, [SEP]) per layer and head,
  ``share_{A->B} = (1/|A|) sum_{i in A} sum_{j in B} a_ij``.
* :func:`match_attention`: token-level matching, attention from a query token to the document
  positions holding the *same* token, relative to its average attention per document token.
* :func:`doc_state_similarity`: how much the document's token states depend on the query, per layer.
* :func:`sentence_deletion`: document-level, the score lost when one sentence of the document is removed.

>>> ce = CrossEncoder()
>>> pt = pair_tokens(ce, "aspirin prevents stroke", "Aspirin lowers the risk of stroke.")
>>> pt.segments[:3], pt.token_type_ids[:3].tolist()
(['[CLS]', 'query', 'query'], [0, 0, 0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

GROUPS = ("cls", "query", "doc", "sep")


@dataclass
class PairTokens:
    """One encoded pair: ``tokens`` (T,), ``input_ids`` (T,), ``token_type_ids`` (T,), ``segments`` (T,)."""

    tokens: list[str]
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    segments: list[str]  # "[CLS]", "query", "[SEP]", "doc" for every position

    def rows(self) -> list[dict]:
        """One dict per position: ``position, token, token_type_id, segment``."""
        return [{"position": i, "token": t, "token_type_id": int(s), "segment": g}
                for i, (t, s, g) in enumerate(zip(self.tokens, self.token_type_ids, self.segments))]


def _segments(tokens: Sequence[str], types: Sequence[int], cls: str = "[CLS]", sep: str = "[SEP]") -> list[str]:
    out = []
    for t, s in zip(tokens, types):
        if t == cls:
            out.append("[CLS]")
        elif t == sep:
            out.append("[SEP]")
        else:
            out.append("query" if int(s) == 0 else "doc")
    return out


def pair_tokens(ce, query: str, doc: str, max_length: int | None = None) -> PairTokens:
    """``[CLS] q [SEP] d [SEP]`` exactly as ``ce.score`` tokenises it (query cut, document truncated).

    ``ce`` is a :class:`lessonlib.cross.CrossEncoder`. Shapes: every array is (T,), T <= max_length.
    """
    enc = ce.encode_pairs([query], [doc], max_length=max_length)
    ids = enc["input_ids"][0].cpu().numpy()
    types = enc.get("token_type_ids", torch.zeros_like(enc["input_ids"]))[0].cpu().numpy()
    tokens = ce.tokenizer.convert_ids_to_tokens(ids.tolist())
    tok = ce.tokenizer
    return PairTokens(tokens, ids, types, _segments(tokens, types, tok.cls_token, tok.sep_token))


@torch.no_grad()
def embedding_parts(ce, query: str, doc: str, max_length: int | None = None) -> dict[str, np.ndarray]:
    """The input layer of a BERT-style cross-encoder, part by part, for one pair.

    Returns ``word``, ``position``, ``segment`` (each (T, hidden): E_word[x_t], E_pos[t], E_seg[s_t]),
    ``sum`` (their sum) and ``output`` (LayerNorm(sum), what layer 1 receives; dropout off).
    """
    enc = ce.encode_pairs([query], [doc], max_length=max_length)
    emb = ce.model.base_model.embeddings
    ids = enc["input_ids"]
    types = enc.get("token_type_ids", torch.zeros_like(ids))
    pos = torch.arange(ids.shape[1], device=ids.device)[None]
    word = emb.word_embeddings(ids)[0]
    position = emb.position_embeddings(pos)[0]
    segment = emb.token_type_embeddings(types)[0]
    total = word + position + segment
    out = emb.LayerNorm(total)
    return {k: v.float().cpu().numpy() for k, v in
            {"word": word, "position": position, "segment": segment, "sum": total, "output": out}.items()}


@torch.no_grad()
def segment_table(ce) -> np.ndarray:
    """The segment (token-type) embedding table E_seg of a BERT-style cross-encoder, (types, hidden).

    Row 0 is added to every [CLS]/query token, row 1 to every document token (BERT, Devlin et al. 2019);
    copied to host memory whatever device the model is on.
    """
    return ce.model.base_model.embeddings.token_type_embeddings.weight.detach().float().cpu().numpy()


def _group_positions(att) -> dict[str, np.ndarray]:
    seg = _segments(att.tokens, att.token_type_ids)
    names = {"[CLS]": "cls", "query": "query", "doc": "doc", "[SEP]": "sep"}
    out = {g: [] for g in GROUPS}
    for i, s in enumerate(seg):
        if att.tokens[i] == "[PAD]":
            continue
        out[names[s]].append(i)
    return {g: np.asarray(v, dtype=int) for g, v in out.items()}


def block_attention(att) -> dict[str, np.ndarray]:
    """Attention mass between token groups, per layer and head.

    ``att`` is a :class:`lessonlib.cross.interpret.Attention` (maps (L, H, T, T), rows sum to 1). For groups
    A, B in {cls, query, doc, sep}: ``share[f"{A}->{B}"][l, h] = (1/|A|) sum_{i in A} sum_{j in B} a^{lh}_ij``,
    the average share of a token of A's attention that lands on B; for a fixed A the four shares
    sum to 1. Returns ``{"query->doc": (L, H), ...}`` (16 keys; a group with no token is left out).
    """
    pos = _group_positions(att)
    out: dict[str, np.ndarray] = {}
    for a in GROUPS:
        if len(pos[a]) == 0:
            continue
        rows = att.maps[:, :, pos[a], :]  # (L, H, |A|, T)
        for b in GROUPS:
            if len(pos[b]) == 0:
                continue
            out[f"{a}->{b}"] = rows[..., pos[b]].sum(-1).mean(-1)
    return out


def match_attention(att) -> np.ndarray:
    """Token-level matching: how much more a query token attends to *its own* token in the document.

    For every query position i whose token also occurs in the document (positions M_i):
    ``ratio_i = mean_{j in M_i} a_ij / mean_{j in doc} a_ij`` (1 = no preference for the match).
    Returns the mean ratio over such query tokens, (L, H); NaN everywhere if no query token occurs in
    the document.
    """
    pos = _group_positions(att)
    q, d = pos["query"], pos["doc"]
    L, H = att.maps.shape[:2]
    doc_tokens = [att.tokens[j] for j in d]
    ratios = []
    for i in q:
        match = np.asarray([j for j, t in zip(d, doc_tokens) if t == att.tokens[i]], dtype=int)
        if len(match) == 0:
            continue
        row = att.maps[:, :, i, :]  # (L, H, T)
        ratios.append(row[..., match].mean(-1) / np.maximum(row[..., d].mean(-1), 1e-12))
    if not ratios:
        return np.full((L, H), np.nan)
    return np.mean(ratios, axis=0)


@torch.no_grad()
def _hidden_states(ce, q_ids: list[int], d_ids: list[int]) -> list[torch.Tensor]:
    tok = ce.tokenizer
    ids = [tok.cls_token_id, *q_ids, tok.sep_token_id, *d_ids, tok.sep_token_id]
    types = [0] * (len(q_ids) + 2) + [1] * (len(d_ids) + 1)
    dev = ce.device
    enc = {"input_ids": torch.tensor([ids], device=dev), "token_type_ids": torch.tensor([types], device=dev),
           "attention_mask": torch.ones(1, len(ids), dtype=torch.long, device=dev)}
    was_training = ce.model.training
    ce.model.eval()
    try:
        out = ce.model.base_model(**enc, output_hidden_states=True)
    finally:
        ce.model.train(was_training)
    return [h[0].float().cpu() for h in out.hidden_states]


def doc_state_similarity(ce, doc: str, query_a: str, query_b: str, max_length: int | None = None) -> np.ndarray:
    """Per layer, mean cosine between the document's token states read with ``query_a`` and with ``query_b``.

    Both queries are cut to the same number of tokens (the shorter's), so every document token keeps
    its position and the input layer is identical (cosine 1); what changes in later layers comes from
    attending to a different query. A dual encoder's document states would stay at 1 in every layer.
    Returns (L + 1,): the embedding output, then layers 1..L.
    """
    tok = ce.tokenizer
    ia = tok(query_a, add_special_tokens=False)["input_ids"]
    ib = tok(query_b, add_special_tokens=False)["input_ids"]
    n = min(len(ia), len(ib), ce.max_query_length)
    if n == 0:
        raise ValueError("doc_state_similarity: both queries must have at least one token")
    budget = (max_length or ce.max_length) - n - 3
    d_ids = tok(doc, add_special_tokens=False)["input_ids"][:budget]
    if not d_ids:
        raise ValueError("doc_state_similarity: the document has no token within max_length")
    ha, hb = _hidden_states(ce, ia[:n], d_ids), _hidden_states(ce, ib[:n], d_ids)
    doc_pos = slice(n + 2, n + 2 + len(d_ids))
    sims = [torch.nn.functional.cosine_similarity(a[doc_pos], b[doc_pos], dim=-1).mean().item() for a, b in zip(ha, hb)]
    return np.asarray(sims)


def sentence_deletion(score: Callable[[Sequence[str], Sequence[str]], np.ndarray], query: str,
                      sentences: Sequence[str]) -> np.ndarray:
    """Document-level: ``delta_i = f(q, d) - f(q, d without sentence i)`` for each sentence of d.

    ``score(queries, docs) -> (n,)`` (e.g. ``lessonlib.cross.interpret.score_fn_for(ce)``); ``sentences``
    are the document's sentences in order (joined by spaces to make d). Returns (len(sentences),);
    a large positive delta means the score relied on that sentence.
    """
    sentences = [s for s in sentences]
    if not sentences:
        raise ValueError("sentence_deletion(sentences=[]): need at least one sentence")
    full = " ".join(sentences)
    variants = [" ".join(s for j, s in enumerate(sentences) if j != i) or "[UNK]" for i in range(len(sentences))]
    s = np.asarray(score([query] * (len(variants) + 1), [full, *variants]), dtype=np.float64)
    return s[0] - s[1:]
