"""Iterative, memory and graph attention rankers (Day 10.2 §4.3; taught in notebook 16).

Three ways to let attention do more than one look at the document. All three share the input of
``coattention`` and ``hierarchical``: projected token vectors q_i, d_j (tanh of a linear map of the
MiniLM word embeddings e(.)), the raw-embedding cosine M_ij = cos(e(q_i), e(d_j)), and two match
channels (without them a few hundred training claims train nothing, see ``coattention``):

    m_j  = max_i M_ij                    how well document token j matches some query token
    qm   = sum_i a_i max_j M_ij          the query's soft exact-match score, a = softmax over query tokens
    u^0  = sum_i a_i q_i                 the query vector

**Iterative (multi-hop) attention** — the query representation is refined over T hops, as in
End-to-End Memory Networks (Sukhbaatar et al. 2015) and the iterative decoder of Dynamic Coattention
Networks (Xiong, Zhong & Socher 2017)::

    p^t_j = softmax_j( (W_a u^{t-1}) . d_j / sqrt(H) + c_a m_j )   attention over document tokens
    o^t   = sum_j p^t_j d_j,   mu^t = sum_j p^t_j m_j               what hop t read, and its match
    u^t   = u^{t-1} + tanh(W_u [u^{t-1}; o^t])                      the refined query (weights tied over hops)
    score = MLP([u^T * o^T; mu^T; qm]) + c_m qm

**Memory attention** — a key-value memory whose slots are the document's sentences (End-to-End
Memory Networks, Sukhbaatar et al. 2015; key-value memories, Miller et al. 2016). Sentence k's key
and value are the means of two different projections of its tokens; mu_k = max_{j in k} m_j::

    p^t_k = softmax_k( u^{t-1} . key_k / sqrt(H) + c_a mu_k )       addressing by key
    o^t   = sum_k p^t_k value_k                                     reading the values
    u^t   = R u^{t-1} + o^t                                         MemN2N's layer-wise update (R tied)
    score = MLP([u^0 * u^T; u^0 * o^T; sum_k p^T_k mu_k; qm]) + c_m qm

**Graph attention** — a GAT (Velickovic et al. 2018) over the document's sentence graph
(:func:`sentence_graph`: consecutive sentences, sentences sharing a content word piece, or similar
sentences), then query-focused attention over the updated sentence nodes. Node k starts as
x_k = [mean_{j in k} d_j; mu_k]; one GAT layer with K heads::

    z_k = W x_k,   e_kl = LeakyReLU_0.2( a^T [z_k; z_l] ),   alpha_kl = softmax_{l in N(k)} e_kl
    g_k = ELU( sum_{l in N(k)} alpha_kl z_l )                (heads concatenated; N(k) includes k)
    b_k = softmax_k( v^T tanh(W_s g_k + U_s u^0) + c_s mu_k ),   score = MLP([u^0 * sum_k b_k g_k; sum_k b_k mu_k]) + c_m qm

Every model has ``forward(query_ids, query_mask, doc_ids, doc_mask) -> scores (B,)`` (the contract of
``lessonlib.interaction``, trained by ``lessonlib.interaction.train.fit_ranker``) and ``attention(...)``.

>>> model = IterativeAttentionRanker(TokenEmbedding.from_minilm(), hops=3)
>>> p = model.attention(q_ids, q_mask, d_ids, d_mask)          # (B, hops, Ld): one map per hop
>>> graph = GraphAttentionRanker(TokenEmbedding.from_minilm(), edges=("adjacent", "terms"))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from lessonlib.interaction.coattention import NEG, masked_softmax
from lessonlib.interaction.hierarchical import (
    DEFAULT_SENTENCE_END_IDS,
    sentence_index,
    sentence_membership,
)
from lessonlib.interaction.matrix import TokenEmbedding, cosine_matrix

#: edge kinds :func:`sentence_graph` knows
EDGE_KINDS = ("adjacent", "terms", "similarity")
#: BERT's uncased vocabulary lists whole words by frequency from id 1996 ('the'); the first ~100 are function
#: words ('the', 'of', 'and', 'was', 'not', ...), so word pieces below this id do not make a "shared term" edge
MIN_TERM_ID = 2100


class _Fork:
    """Context: torch's global RNG seeded for parameter initialisation, restored after (the caller's stream is untouched)."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self.state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc):
        torch.random.set_rng_state(self.state)


class _MatchInputs(nn.Module):
    """The shared input: projected tokens, the cosine matrix, the match channels and the query vector u^0."""

    def __init__(self, embedding: TokenEmbedding, hidden: int):
        super().__init__()
        self.embedding = embedding
        self.proj = nn.Linear(embedding.dim, hidden)
        self.query_weight = nn.Linear(hidden, 1)

    def forward(self, query_ids, query_mask, doc_ids, doc_mask):
        """(q (B,Lq,H), d (B,Ld,H), de (B,Ld,E) raw doc embeddings, m (B,Ld), qm (B,), u0 (B,H))."""
        qe, de = self.embedding(query_ids, query_mask), self.embedding(doc_ids, doc_mask)
        q, d = torch.tanh(self.proj(qe)), torch.tanh(self.proj(de))
        M = cosine_matrix(qe, query_mask, de, doc_mask)  # (B, Lq, Ld), 0 at padding
        m = M.masked_fill(query_mask[:, :, None] == 0, -1.0).max(dim=1).values  # (B, Ld)
        a = masked_softmax(self.query_weight(q).squeeze(-1), query_mask, dim=1)  # (B, Lq)
        best = M.masked_fill(doc_mask[:, None, :] == 0, -1.0).max(dim=2).values  # (B, Lq)
        qm = (a * best).sum(1)
        u0 = (a.unsqueeze(-1) * q).sum(1)
        return q, d, de, m, qm, u0


def _check_positive(name: str, value: int, who: str) -> None:
    if int(value) < 1:
        raise ValueError(f"{who}({name}={value}): {name} must be >= 1")


class IterativeAttentionRanker(nn.Module):
    """Multi-hop attention over document tokens with a query vector refined at each hop (MemN2N / DCN)."""

    def __init__(self, embedding: TokenEmbedding, hidden: int = 64, hops: int = 2, match_attention: float = 5.0, seed: int = 0):
        super().__init__()
        _check_positive("hops", hops, "IterativeAttentionRanker")
        self.hops = int(hops)
        with _Fork(seed):
            self.inputs = _MatchInputs(embedding, hidden)
            self.W_a = nn.Linear(hidden, hidden, bias=False)
            self.W_u = nn.Linear(2 * hidden, hidden)
            self.out = nn.Sequential(nn.Linear(hidden + 2, hidden), nn.ReLU(), nn.Linear(hidden, 1))
            self.match_attention = nn.Parameter(torch.tensor(float(match_attention)))
            self.match_weight = nn.Parameter(torch.tensor(1.0))

    def _run(self, query_ids, query_mask, doc_ids, doc_mask):
        _, d, _, m, qm, u = self.inputs(query_ids, query_mask, doc_ids, doc_mask)
        scale = 1.0 / math.sqrt(d.shape[-1])
        maps = []
        for _ in range(self.hops):
            logits = (d @ self.W_a(u).unsqueeze(-1)).squeeze(-1) * scale + self.match_attention * m
            p = masked_softmax(logits, doc_mask, dim=1)  # (B, Ld)
            o = (p.unsqueeze(-1) * d).sum(1)
            u = u + torch.tanh(self.W_u(torch.cat([u, o], dim=-1)))
            maps.append(p)
        mu = (p * m).sum(1)
        score = self.out(torch.cat([u * o, mu[:, None], qm[:, None]], dim=-1)).squeeze(-1) + self.match_weight * qm
        return score, torch.stack(maps, dim=1)

    def attention(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        """(B, hops, Ld): hop t's attention over document tokens (rows sum to 1 over real tokens)."""
        return self._run(query_ids, query_mask, doc_ids, doc_mask)[1]

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self._run(query_ids, query_mask, doc_ids, doc_mask)[0]


def _sentence_nodes(member: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean of x over each sentence's tokens (B,S,H), the sentence's best match max_j m_j (B,S), non-empty (B,S))."""
    w = member.to(x.dtype)
    has = member.any(dim=2)
    mean = (w @ x) / w.sum(-1, keepdim=True).clamp(min=1.0)
    mu = m.unsqueeze(1).masked_fill(~member, -1.0).max(dim=2).values * has
    return mean, mu, has


class MemoryAttentionRanker(nn.Module):
    """A key-value memory of the document's sentences, read over several hops (MemN2N; Miller et al. 2016)."""

    def __init__(self, embedding: TokenEmbedding, hidden: int = 64, hops: int = 2, max_sentences: int = 16,
                 sentence_ids: Sequence[int] = DEFAULT_SENTENCE_END_IDS, match_attention: float = 5.0, seed: int = 0):
        super().__init__()
        _check_positive("hops", hops, "MemoryAttentionRanker")
        _check_positive("max_sentences", max_sentences, "MemoryAttentionRanker")
        self.hops, self.max_sentences, self.sentence_ids = int(hops), int(max_sentences), tuple(sentence_ids)
        with _Fork(seed):
            self.inputs = _MatchInputs(embedding, hidden)
            self.key = nn.Linear(embedding.dim, hidden)
            self.value = nn.Linear(embedding.dim, hidden)
            self.R = nn.Linear(hidden, hidden, bias=False)
            nn.init.eye_(self.R.weight)  # start as MemN2N's u + o
            self.out = nn.Sequential(nn.Linear(2 * hidden + 2, hidden), nn.ReLU(), nn.Linear(hidden, 1))
            self.match_attention = nn.Parameter(torch.tensor(float(match_attention)))
            self.match_weight = nn.Parameter(torch.tensor(1.0))

    def _run(self, query_ids, query_mask, doc_ids, doc_mask):
        _, _, de, m, qm, u0 = self.inputs(query_ids, query_mask, doc_ids, doc_mask)
        sent = sentence_index(doc_ids, doc_mask, self.sentence_ids, self.max_sentences)
        member = sentence_membership(sent, doc_mask, self.max_sentences)
        keys, mu, has = _sentence_nodes(member, torch.tanh(self.key(de)), m)
        values = _sentence_nodes(member, torch.tanh(self.value(de)), m)[0]
        scale = 1.0 / math.sqrt(keys.shape[-1])
        u, maps = u0, []
        for _ in range(self.hops):
            p = masked_softmax((keys @ u.unsqueeze(-1)).squeeze(-1) * scale + self.match_attention * mu, has, dim=1) * has
            o = (p.unsqueeze(-1) * values).sum(1)
            u = self.R(u) + o
            maps.append(p)
        read = (p * mu).sum(1)
        score = self.out(torch.cat([u0 * u, u0 * o, read[:, None], qm[:, None]], dim=-1)).squeeze(-1) + self.match_weight * qm
        return score, torch.stack(maps, dim=1), sent

    def attention(self, query_ids, query_mask, doc_ids, doc_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """(memory attention (B, hops, S) over sentence slots, each row summing to 1 over non-empty slots;
        the sentence index of every token (B, Ld))."""
        _, maps, sent = self._run(query_ids, query_mask, doc_ids, doc_mask)
        return maps, sent

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self._run(query_ids, query_mask, doc_ids, doc_mask)[0]


def sentence_graph(
    doc_ids: torch.Tensor,
    doc_mask: torch.Tensor,
    sent: torch.Tensor,
    n_sentences: int,
    edges: Sequence[str] = ("adjacent", "terms"),
    doc_embeddings: torch.Tensor | None = None,
    threshold: float = 0.5,
    min_term_id: int = MIN_TERM_ID,
) -> torch.Tensor:
    """Adjacency (B, S, S) bool of the document's sentence graph; self-loops on every non-empty sentence.

    ``sent`` (B, Ld) is each token's sentence (``hierarchical.sentence_index``). Edge kinds (symmetric):
    ``"adjacent"`` — sentences k and k+1; ``"terms"`` — the two sentences share a word piece with id >=
    ``min_term_id`` (not one of the vocabulary's ~100 most frequent, function-word pieces); ``"similarity"``
    — cos(mean e(tokens of k), mean e(tokens of l)) >= ``threshold`` (needs ``doc_embeddings`` (B, Ld, E)).
    ``edges=()`` leaves self-loops only: a GAT over it passes no messages (the control).

    >>> A = sentence_graph(ids, mask, sentence_index(ids, mask, (1012,), 8), 8, edges=("adjacent",))
    """
    bad = [e for e in edges if e not in EDGE_KINDS]
    if bad:
        raise ValueError(f"sentence_graph(edges={tuple(edges)!r}): expected kinds from {EDGE_KINDS}")
    member = sentence_membership(sent, doc_mask, n_sentences)  # (B, S, Ld)
    has = member.any(dim=2)
    A = torch.diag_embed(has)
    if "adjacent" in edges:
        nxt = has[:, :-1] & has[:, 1:]
        step = torch.diag_embed(nxt, offset=1)
        A = A | step | step.transpose(1, 2)
    if "terms" in edges:
        content = (doc_ids >= min_term_id) & (doc_mask > 0)
        same = (doc_ids[:, :, None] == doc_ids[:, None, :]) & content[:, :, None] & content[:, None, :]  # (B, Ld, Ld)
        w = member.float()
        shared = (w @ same.float() @ w.transpose(1, 2)) > 0
        A = A | (shared & has[:, :, None] & has[:, None, :])
    if "similarity" in edges:
        if doc_embeddings is None:
            raise ValueError("sentence_graph(edges=('similarity',), doc_embeddings=None): similarity edges need the token embeddings")
        w = member.to(doc_embeddings.dtype)
        mean = F.normalize((w @ doc_embeddings) / w.sum(-1, keepdim=True).clamp(min=1.0), dim=-1)
        A = A | ((mean @ mean.transpose(1, 2) >= threshold) & has[:, :, None] & has[:, None, :])
    return A


class GraphAttentionLayer(nn.Module):
    """One multi-head GAT layer (Velickovic et al. 2018) on dense adjacency.

    x (B, N, F_in), adj (B, N, N) bool (must include self-loops) -> (B, N, heads * F_out) with ELU, heads
    concatenated; ``attention_`` keeps the last alpha (B, heads, N, N), rows summing to 1 over neighbours.
    e_kl = LeakyReLU(a_src . W x_k + a_dst . W x_l), the decomposition of a^T [W x_k; W x_l].
    """

    def __init__(self, in_dim: int, out_dim: int, heads: int = 2, negative_slope: float = 0.2):
        super().__init__()
        _check_positive("heads", heads, "GraphAttentionLayer")
        self.heads, self.out_dim, self.negative_slope = int(heads), int(out_dim), negative_slope
        self.W = nn.Linear(in_dim, heads * out_dim, bias=False)
        self.a_src = nn.Parameter(torch.randn(heads, out_dim) / math.sqrt(out_dim))
        self.a_dst = nn.Parameter(torch.randn(heads, out_dim) / math.sqrt(out_dim))
        self.attention_: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        z = self.W(x).view(B, N, self.heads, self.out_dim)  # (B, N, K, F)
        src = (z * self.a_src).sum(-1).transpose(1, 2)  # (B, K, N)
        dst = (z * self.a_dst).sum(-1).transpose(1, 2)
        e = F.leaky_relu(src.unsqueeze(-1) + dst.unsqueeze(-2), self.negative_slope)  # (B, K, N, N)
        mask = adj.unsqueeze(1)
        alpha = torch.softmax(e.masked_fill(~mask, NEG), dim=-1) * mask  # rows of empty nodes are 0
        self.attention_ = alpha.detach()
        out = alpha @ z.transpose(1, 2)  # (B, K, N, F)
        return F.elu(out.transpose(1, 2).reshape(B, N, self.heads * self.out_dim))


class GraphAttentionRanker(nn.Module):
    """GAT over the sentence graph of the document, then query-focused attention over its nodes."""

    def __init__(self, embedding: TokenEmbedding, hidden: int = 64, heads: int = 2, layers: int = 1,
                 edges: Sequence[str] = ("adjacent", "terms"), threshold: float = 0.5, max_sentences: int = 16,
                 sentence_ids: Sequence[int] = DEFAULT_SENTENCE_END_IDS, seed: int = 0):
        super().__init__()
        _check_positive("layers", layers, "GraphAttentionRanker")
        if hidden % heads:
            raise ValueError(f"GraphAttentionRanker(hidden={hidden}, heads={heads}): hidden must be a multiple of heads")
        if any(e not in EDGE_KINDS for e in edges):
            raise ValueError(f"GraphAttentionRanker(edges={tuple(edges)!r}): expected kinds from {EDGE_KINDS}")
        self.edges, self.threshold = tuple(edges), float(threshold)
        self.max_sentences, self.sentence_ids = int(max_sentences), tuple(sentence_ids)
        with _Fork(seed):
            self.inputs = _MatchInputs(embedding, hidden)
            self.gat = nn.ModuleList(GraphAttentionLayer(hidden + 1 if i == 0 else hidden, hidden // heads, heads) for i in range(layers))
            self.sent_W = nn.Linear(hidden, hidden)
            self.sent_U = nn.Linear(hidden, hidden, bias=False)
            self.sent_v = nn.Linear(hidden, 1, bias=False)
            self.sent_match = nn.Parameter(torch.tensor(2.0))
            self.out = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
            self.match_weight = nn.Parameter(torch.tensor(1.0))

    def graph(self, doc_ids: torch.Tensor, doc_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(adjacency (B, S, S), sentence index (B, Ld)) of the documents, as the model builds them."""
        sent = sentence_index(doc_ids, doc_mask, self.sentence_ids, self.max_sentences)
        de = self.inputs.embedding(doc_ids, doc_mask) if "similarity" in self.edges else None
        return sentence_graph(doc_ids, doc_mask, sent, self.max_sentences, self.edges, de, self.threshold), sent

    def _run(self, query_ids, query_mask, doc_ids, doc_mask):
        _, d, _, m, qm, u0 = self.inputs(query_ids, query_mask, doc_ids, doc_mask)
        adj, sent = self.graph(doc_ids, doc_mask)
        x, mu, has = _sentence_nodes(sentence_membership(sent, doc_mask, self.max_sentences), d, m)
        g = torch.cat([x, mu.unsqueeze(-1)], dim=-1)
        for layer in self.gat:
            g = layer(g, adj)
        v = self.sent_v(torch.tanh(self.sent_W(g) + self.sent_U(u0).unsqueeze(1))).squeeze(-1) + self.sent_match * mu
        b = masked_softmax(v, has, dim=1) * has
        doc = (b.unsqueeze(-1) * g).sum(1)
        score = self.out(torch.cat([u0 * doc, (b * mu).sum(1, keepdim=True)], dim=-1)).squeeze(-1) + self.match_weight * qm
        return score, b, adj, sent

    def attention(self, query_ids, query_mask, doc_ids, doc_mask) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(GAT alpha of the last layer (B, heads, S, S), readout attention over sentences (B, S),
        adjacency (B, S, S), sentence index (B, Ld))."""
        _, b, adj, sent = self._run(query_ids, query_mask, doc_ids, doc_mask)
        return self.gat[-1].attention_, b, adj, sent

    def forward(self, query_ids, query_mask, doc_ids, doc_mask) -> torch.Tensor:
        return self._run(query_ids, query_mask, doc_ids, doc_mask)[0]
