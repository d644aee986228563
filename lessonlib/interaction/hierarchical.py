"""Hierarchical query-focused attention: word -> sentence -> document (Yang et al. 2016, HAN).

The document's tokens are split into sentences at sentence-ending tokens ('.', '?', '!', ';').
With projected token vectors h_t, the mean query vector q, and m_t = max_i cos(e(q_i), e(d_t))
(how well token t matches some query token):

    u_t   = v_w^T tanh(W_w h_t + U_w q) + c_w m_t           word score
    a_t   = softmax of u_t over the tokens of t's sentence   word attention
    s_k   = sum_t a_t h_t,   m_k = sum_t a_t m_t              sentence vector and sentence match
    b_k   = softmax_k( v_s^T tanh(W_s s_k + U_s q) + c_s m_k ) sentence attention
    d     = sum_k b_k s_k,   m = sum_k b_k m_k                document vector and match
    score = MLP([q * d; m])

Yang et al. encode words and sentences with bi-GRUs for classification; we keep projections
(fast on CPU) and make both attention levels query-focused, which ranking needs.

>>> model = HierarchicalAttentionRanker(TokenEmbedding.from_minilm(), sentence_ids=[1012, 1029])
>>> word_att, sent_att, sent_index = model.attention(q_ids, q_mask, d_ids, d_mask)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lessonlib.interaction.coattention import NEG
from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix

# WordPiece ids of '.', '?', '!' and ';' in the BERT uncased vocabulary (MiniLM's).
DEFAULT_SENTENCE_END_IDS = (1012, 1029, 999, 1025)


def sentence_index(doc_ids: torch.Tensor, doc_mask: torch.Tensor, end_ids: Sequence[int], max_sentences: int) -> torch.Tensor:
    """Sentence number of every token (B, Ld): a sentence ends after an end token; capped at max_sentences-1."""
    ends = torch.zeros_like(doc_ids, dtype=torch.long)
    for tid in end_ids:
        ends |= (doc_ids == tid).long()
    # The token after an end token starts a new sentence.
    starts = torch.cat([torch.zeros_like(ends[:, :1]), ends[:, :-1]], dim=1)
    idx = starts.cumsum(1).clamp(max=max_sentences - 1)
    return idx * doc_mask.long()


def sentence_membership(sent: torch.Tensor, doc_mask: torch.Tensor, n_sentences: int) -> torch.Tensor:
    """(B, S, Ld) bool: entry [b, k, t] is True when real token t of document b is in sentence k (``sent`` from
    :func:`sentence_index`). Shared by the hierarchical, memory and graph attention models (notebook 16)."""
    return (sent.unsqueeze(1) == torch.arange(n_sentences, device=sent.device).view(1, n_sentences, 1)) & (doc_mask.unsqueeze(1) > 0)


class HierarchicalAttentionRanker(nn.Module):
    """Word-level then sentence-level query-focused attention over a document."""

    def __init__(
        self,
        embedding: TokenEmbedding,
        hidden: int = 64,
        max_sentences: int = 16,
        sentence_ids: Sequence[int] = DEFAULT_SENTENCE_END_IDS,
        seed: int = 0,
    ):
        super().__init__()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.embedding = embedding
        self.max_sentences = max_sentences
        self.sentence_ids = tuple(sentence_ids)
        self.proj = nn.Linear(embedding.dim, hidden)
        self.word_W = nn.Linear(hidden, hidden)
        self.word_U = nn.Linear(hidden, hidden, bias=False)
        self.word_v = nn.Linear(hidden, 1, bias=False)
        self.sent_W = nn.Linear(hidden, hidden)
        self.sent_U = nn.Linear(hidden, hidden, bias=False)
        self.sent_v = nn.Linear(hidden, 1, bias=False)
        self.word_match = nn.Parameter(torch.tensor(2.0))
        self.sent_match = nn.Parameter(torch.tensor(2.0))
        self.out = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        torch.random.set_rng_state(state)

    def _run(self, query_ids, query_mask, doc_ids, doc_mask):
        qe = self.embedding(query_ids, query_mask)
        de = self.embedding(doc_ids, doc_mask)
        qm = query_mask.unsqueeze(-1).to(qe.dtype)
        m = cosine_matrix(qe, query_mask, de, doc_mask)
        m = m.masked_fill(query_mask[:, :, None] == 0, -1.0).max(dim=1).values  # (B, Ld)
        q = torch.tanh(self.proj((qe * qm).sum(1) / qm.sum(1).clamp(min=1.0)))  # (B, H)
        h = torch.tanh(self.proj(de))  # (B, Ld, H)
        sent = sentence_index(doc_ids, doc_mask, self.sentence_ids, self.max_sentences)  # (B, Ld)
        S = self.max_sentences
        member = sentence_membership(sent, doc_mask, S)  # (B, S, Ld)
        u = self.word_v(torch.tanh(self.word_W(h) + self.word_U(q).unsqueeze(1))).squeeze(-1) + self.word_match * m
        word_att = torch.softmax(u.unsqueeze(1).masked_fill(~member, NEG), dim=2) * member  # (B, S, Ld)
        s_vec = word_att @ h  # (B, S, H)
        s_match = (word_att * m.unsqueeze(1)).sum(-1)  # (B, S)
        has = member.any(dim=2)  # (B, S) non-empty sentences
        v = self.sent_v(torch.tanh(self.sent_W(s_vec) + self.sent_U(q).unsqueeze(1))).squeeze(-1) + self.sent_match * s_match
        sent_att = torch.softmax(v.masked_fill(~has, NEG), dim=1) * has
        d = (sent_att.unsqueeze(-1) * s_vec).sum(1)
        match = (sent_att * s_match).sum(1, keepdim=True)
        score = self.out(torch.cat([q * d, match], dim=-1)).squeeze(-1)
        return score, word_att, sent_att, sent

    def attention(self, query_ids, query_mask, doc_ids, doc_mask):
        """(word attention (B, S, Ld) — row k over sentence k's tokens, sentence attention (B, S), sentence index (B, Ld))."""
        _, word_att, sent_att, sent = self._run(query_ids, query_mask, doc_ids, doc_mask)
        return word_att, sent_att, sent

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self._run(query_ids, query_mask, doc_ids, doc_mask)[0]
