"""Iterative, memory and graph attention rankers (lessonlib.interaction.attention_variants)."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from lessonlib.interaction.attention_variants import (
    GraphAttentionLayer,
    GraphAttentionRanker,
    IterativeAttentionRanker,
    MemoryAttentionRanker,
    sentence_graph,
)
from lessonlib.interaction.hierarchical import sentence_index, sentence_membership
from lessonlib.interaction.matrix import TokenEmbedding

DOT = 1012


def small_embedding(vocab: int = 3000, dim: int = 16) -> TokenEmbedding:
    g = torch.Generator().manual_seed(0)
    return TokenEmbedding(torch.randn(vocab, dim, generator=g), freeze=True)


def batch():
    """Two queries x two documents of three / two sentences (id 1012 ends a sentence), right-padded."""
    q_ids = torch.tensor([[2500, 2600, 0], [2700, 2500, 2800]])
    q_mask = (q_ids > 0).float()
    d_ids = torch.tensor([[2500, 2201, DOT, 2600, 2202, DOT, 2500, 2999, DOT],
                          [2700, 2203, DOT, 2204, 2700, 0, 0, 0, 0]])
    d_mask = (d_ids > 0).float()
    return q_ids, q_mask, d_ids, d_mask


MODELS = {
    "iterative": lambda e, **kw: IterativeAttentionRanker(e, hidden=8, **kw),
    "memory": lambda e, **kw: MemoryAttentionRanker(e, hidden=8, max_sentences=4, **kw),
    "graph": lambda e, **kw: GraphAttentionRanker(e, hidden=8, max_sentences=4, **kw),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_scores_do_not_depend_on_padding_or_batch(name):
    """A pair's score is the same alone and padded inside a batch (rerank_candidates relies on it)."""
    model = MODELS[name](small_embedding()).eval()
    q_ids, q_mask, d_ids, d_mask = batch()
    with torch.no_grad():
        both = model(q_ids, q_mask, d_ids, d_mask)
        alone = model(q_ids[1:, :3], q_mask[1:, :3], d_ids[1:, :5], d_mask[1:, :5])
    assert both.shape == (2,)
    assert torch.allclose(both[1:], alone, atol=1e-5)


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_model_and_gradients_reach_parameters(name):
    e = small_embedding()
    a, b = MODELS[name](e, seed=3), MODELS[name](e, seed=3)
    q_ids, q_mask, d_ids, d_mask = batch()
    assert torch.equal(a(q_ids, q_mask, d_ids, d_mask), b(q_ids, q_mask, d_ids, d_mask))
    a(q_ids, q_mask, d_ids, d_mask).sum().backward()
    grads = [p.grad for p in a.parameters() if p.requires_grad]
    assert sum(int(g is not None and g.abs().sum() > 0) for g in grads) >= len(grads) - 2


def test_iterative_attention_one_map_per_hop_and_hops_change_the_score():
    e = small_embedding()
    q_ids, q_mask, d_ids, d_mask = batch()
    one, three = IterativeAttentionRanker(e, hidden=8, hops=1), IterativeAttentionRanker(e, hidden=8, hops=3)
    p = three.attention(q_ids, q_mask, d_ids, d_mask).detach()
    assert p.shape == (2, 3, d_ids.shape[1])
    assert torch.allclose(p.sum(-1), torch.ones(2, 3), atol=1e-5)
    assert float(p[1, :, 5:].abs().max()) == 0.0  # no attention on padding
    # same weights (same seed), only the number of hops differs
    assert not torch.allclose(one(q_ids, q_mask, d_ids, d_mask), three(q_ids, q_mask, d_ids, d_mask))
    assert torch.allclose(one.attention(q_ids, q_mask, d_ids, d_mask)[:, 0], p[:, 0])  # hop 1 is hop 1


def test_memory_attention_addresses_non_empty_sentences():
    model = MemoryAttentionRanker(small_embedding(), hidden=8, hops=2, max_sentences=4)
    q_ids, q_mask, d_ids, d_mask = batch()
    maps, sent = model.attention(q_ids, q_mask, d_ids, d_mask)
    assert maps.shape == (2, 2, 4)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 2), atol=1e-5)
    assert float(maps[1, :, 2:].abs().max()) == 0.0  # document 2 has two sentences
    assert sent[0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def reference_sentence_graph(ids, mask, sent, S, edges, min_term_id):
    """Loops over documents and sentence pairs."""
    out = torch.zeros(ids.shape[0], S, S, dtype=torch.bool)
    for b in range(ids.shape[0]):
        toks = {k: {int(t) for t, s, m in zip(ids[b], sent[b], mask[b]) if m > 0 and int(s) == k} for k in range(S)}
        real = [k for k in range(S) if toks[k]]
        for k in real:
            for j in real:
                content = {t for t in toks[k] & toks[j] if t >= min_term_id}
                out[b, k, j] = (k == j) or ("adjacent" in edges and abs(k - j) == 1) or ("terms" in edges and bool(content))
    return out


@pytest.mark.parametrize("edges", [(), ("adjacent",), ("terms",), ("adjacent", "terms")])
def test_sentence_graph_matches_a_loop_reference(edges):
    _q_ids, _q_mask, d_ids, d_mask = batch()
    sent = sentence_index(d_ids, d_mask, (DOT,), 4)
    A = sentence_graph(d_ids, d_mask, sent, 4, edges, min_term_id=2300)
    assert torch.equal(A, reference_sentence_graph(d_ids, d_mask, sent, 4, edges, 2300))
    assert torch.equal(A, A.transpose(1, 2))


def test_sentence_graph_terms_ignore_frequent_pieces_and_similarity_needs_embeddings():
    _q_ids, _q_mask, d_ids, d_mask = batch()
    sent = sentence_index(d_ids, d_mask, (DOT,), 4)
    # sentences 0 and 2 of document 1 share id 2500: an edge at min_term_id 2300, none at 2600
    assert bool(sentence_graph(d_ids, d_mask, sent, 4, ("terms",), min_term_id=2300)[0, 0, 2])
    assert not bool(sentence_graph(d_ids, d_mask, sent, 4, ("terms",), min_term_id=2600)[0, 0, 2])
    with pytest.raises(ValueError, match="similarity"):
        sentence_graph(d_ids, d_mask, sent, 4, ("similarity",))
    with pytest.raises(ValueError, match="edges"):
        sentence_graph(d_ids, d_mask, sent, 4, ("cites",))
    emb = small_embedding()(d_ids, d_mask)
    full = sentence_graph(d_ids, d_mask, sent, 4, ("similarity",), doc_embeddings=emb, threshold=-1.0)
    has = sentence_membership(sent, d_mask, 4).any(-1)
    assert torch.equal(full, has[:, :, None] & has[:, None, :])  # threshold -1: every real pair


def reference_gat(layer: GraphAttentionLayer, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """Velickovic et al. 2018, eq. 3-5, node by node: alpha_kl = softmax_l LeakyReLU(a^T [W x_k || W x_l])."""
    B, N, _ = x.shape
    K, Fo = layer.heads, layer.out_dim
    z = layer.W(x).view(B, N, K, Fo)
    out = torch.zeros(B, N, K * Fo)
    for b in range(B):
        for k in range(N):
            nb = [l for l in range(N) if adj[b, k, l]]
            if not nb:
                continue
            for h in range(K):
                a = torch.cat([layer.a_src[h], layer.a_dst[h]])
                e = torch.stack([F.leaky_relu(a @ torch.cat([z[b, k, h], z[b, l, h]]), 0.2) for l in nb])
                alpha = torch.softmax(e, 0)
                out[b, k, h * Fo:(h + 1) * Fo] = F.elu(sum(al * z[b, l, h] for al, l in zip(alpha, nb)))
    return out


def test_gat_layer_matches_the_papers_formula_node_by_node():
    torch.manual_seed(0)
    layer = GraphAttentionLayer(5, 3, heads=2)
    x = torch.randn(2, 4, 5)
    adj = torch.tensor([[[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]],
                        [[1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]], dtype=torch.bool)
    out = layer(x, adj)
    assert torch.allclose(out, reference_gat(layer, x, adj), atol=1e-5)
    assert torch.allclose(layer.attention_[0].sum(-1), torch.ones(2, 4), atol=1e-5)
    # a node with self-loop only ignores its neighbours: changing them leaves it unchanged
    x2 = x.clone(); x2[1, 1:] += 1.0
    assert torch.allclose(layer(x2, adj)[1, 0], out[1, 0])


def test_graph_ranker_self_loops_only_passes_no_messages():
    e = small_embedding()
    q_ids, q_mask, d_ids, d_mask = batch()
    model = GraphAttentionRanker(e, hidden=8, max_sentences=4, edges=())
    adj, _ = model.graph(d_ids, d_mask)
    assert torch.equal(adj, torch.diag_embed(adj.diagonal(dim1=1, dim2=2)))
    alpha, b, _adj2, _ = model.attention(q_ids, q_mask, d_ids, d_mask)
    assert alpha.shape == (2, 2, 4, 4) and torch.allclose(b.sum(-1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize("bad", [{"hops": 0}, {"edges": ("cites",)}, {"heads": 3}, {"layers": 0}])
def test_bad_knobs_raise_value_error(bad):
    e = small_embedding()
    with pytest.raises(ValueError):
        if "hops" in bad:
            IterativeAttentionRanker(e, **bad)
        else:
            GraphAttentionRanker(e, hidden=8, **bad)
