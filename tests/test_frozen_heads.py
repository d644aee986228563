"""lessonlib.dual.frozen_heads, Day 10.1 §1.2–1.3 pieces: learned similarities (MetricHead), attention pooling
(AttentionPooling, PooledDualHead), query token tables and epochs chosen on validation (fit_on_validation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lessonlib.dual.frozen_heads import (AttentionPooling, DualHead, EmbeddingTable, MetricHead, PooledDualHead,
                                         dual_head_run, fit_dual_head, fit_on_validation, query_token_table)
from lessonlib.data import relevant_pairs
from lessonlib.evaluation.metrics import evaluate


def _toy(seed=0, n=40, dim=16, noise=0.8):
    """Queries are noisy rotated copies of their document: doc i is relevant to query i."""
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(n, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    mix = rng.normal(size=(dim, dim)).astype(np.float32) / np.sqrt(dim)
    queries = (docs @ mix + noise / np.sqrt(dim) * rng.normal(size=(n, dim))).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    qids, dids = [f"q{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    return EmbeddingTable(qids, queries, dids, docs, {q: {d: 1} for q, d in zip(qids, dids)})


def _ndcg(table, run):
    return evaluate(table.qrels, run, ["ndcg@10"])["ndcg@10"]


def _same_ranking(a, b):
    return a.keys() == b.keys() and all(list(a[q]) == list(b[q]) for q in a)


# ----------------------------------------------------------------------------- learned similarities
def test_bilinear_head_starts_at_cosine_and_scores_q_W_d():
    t = _toy()
    head = MetricHead(t.dim, "bilinear")
    assert _same_ranking(dual_head_run(head, t), dual_head_run(None, t))
    with torch.no_grad():
        head.W.add_(torch.randn(t.dim, t.dim, generator=torch.Generator().manual_seed(1)))
    W = head.W.detach().numpy()
    scores = head.transform(t.queries, "query") @ head.transform(t.docs, "doc").T
    np.testing.assert_allclose(scores, t.queries @ W @ t.docs.T, rtol=1e-4, atol=1e-4)  # s = q^T W d


def test_projection_head_is_a_low_rank_metric_started_from_the_documents():
    t = _toy()
    head = MetricHead(t.dim, "projection", rank=t.dim)  # full rank, identity: plain cosine
    assert _same_ranking(dual_head_run(head, t), dual_head_run(None, t))
    low = MetricHead(t.dim, "projection", rank=4, init=t.docs)
    P = low.P.detach().numpy()
    assert P.shape == (t.dim, 4) and low.transform(t.docs, "doc").shape == (len(t.docs), 4)
    np.testing.assert_allclose(P.T @ P, np.eye(4), atol=1e-5)  # orthonormal start: top singular directions
    _, _, vt = np.linalg.svd(t.docs, full_matrices=False)
    np.testing.assert_allclose(np.abs(P.T @ vt[0]).max(), 1.0, atol=1e-5)
    M = P @ P.T  # the metric: cos under M = cos(P^T q, P^T d)
    q, d = t.queries[0], t.docs[1]
    expected = q @ M @ d / np.sqrt((q @ M @ q) * (d @ M @ d))
    got = low.transform(t.queries[:1], "query") @ low.transform(t.docs[1:2], "doc").T
    np.testing.assert_allclose(got.item(), expected, atol=1e-5)


def test_metric_heads_reject_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        MetricHead(8, "mahalanobis")
    with pytest.raises(ValueError, match="rank"):
        MetricHead(8, "projection", rank=9)
    with pytest.raises(ValueError, match="kind"):
        MetricHead(8).embed(torch.zeros(1, 8), "passage")


def test_training_a_bilinear_head_learns_the_rotation():
    t = _toy()
    head = MetricHead(t.dim, "bilinear")
    history = fit_dual_head(head, t, relevant_pairs(t.qrels), epochs=30, batch_size=8, lr=1e-2)
    assert history[-1]["loss"] < history[0]["loss"]
    assert _ndcg(t, dual_head_run(head, t)) > _ndcg(t, dual_head_run(None, t)) + 0.1


# ----------------------------------------------------------------------------- attention pooling
def test_attention_pooling_starts_as_mean_pooling_and_ignores_padding():
    h = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    pool = AttentionPooling(8, hidden=4)
    expected = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(pool(h, mask), expected)
    with torch.no_grad():
        pool.w2.normal_()
    w = pool.weights(h, mask)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    assert (w[~mask] == 0).all() and (w[mask] > 0).all()


def _token_toy(seed=0, n=40, dim=16, n_noise=6):
    """Each query: one token near its document (a weak signal) and ``n_noise`` loud noise tokens that
    share a marker direction (axis 0, absent from the documents): attention can learn to skip them."""
    rng = np.random.default_rng(seed)
    docs = np.zeros((n, dim), np.float32)
    docs[:, 1:] = rng.normal(size=(n, dim - 1))
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    tokens = np.zeros((n, n_noise + 3, dim), np.float32)  # the last two rows stay padding
    tokens[:, 0] = docs + 0.1 * rng.normal(size=(n, dim))
    tokens[:, 1:n_noise + 1] = rng.normal(size=(n, n_noise, dim)) * 0.6
    tokens[:, 1:n_noise + 1, 0] = 3.0
    qids, dids = [f"q{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    return EmbeddingTable(qids, tokens, dids, docs, {q: {d: 1} for q, d in zip(qids, dids)})


def test_pooled_head_with_mean_pooling_starts_at_the_mean_of_the_tokens():
    t = _token_toy()
    head = PooledDualHead(t.dim, "mean")
    x = torch.from_numpy(t.queries)
    mean = x[:, :-2].mean(1)  # the two padding rows do not count
    torch.testing.assert_close(head.embed(x, "query"), F.normalize(mean, dim=-1))
    torch.testing.assert_close(head.embed(torch.from_numpy(t.docs), "doc"), torch.from_numpy(t.docs))
    assert _same_ranking(dual_head_run(PooledDualHead(t.dim, "attention"), t), dual_head_run(head, t))
    with pytest.raises(ValueError, match="pooling"):
        PooledDualHead(t.dim, "max")


def test_attention_pooling_learns_to_skip_the_noise_tokens():
    t = _token_toy()
    pairs = relevant_pairs(t.qrels)
    scores = {}
    for pooling in ("mean", "attention"):
        head = PooledDualHead(t.dim, pooling, hidden=8, rank=2)
        fit_dual_head(head, t, pairs, epochs=40, batch_size=8, lr=1e-2)
        scores[pooling] = _ndcg(t, dual_head_run(head, t))
    assert scores["attention"] > scores["mean"] + 0.1
    with torch.no_grad():
        w = head.attention.weights(torch.from_numpy(t.queries), torch.from_numpy(np.abs(t.queries).sum(-1) > 0))
    assert float(w[:, 0].mean()) > 0.5  # most of the weight on the signal token (1/7 at the start)


# ----------------------------------------------------------------------------- validation
def test_fit_on_validation_keeps_the_best_epochs_on_validation():
    t = _toy()
    val = t.query_ids[:10]
    pairs = relevant_pairs(t.qrels, t.query_ids[10:])
    head, scores = fit_on_validation(lambda: DualHead(t.dim), t, pairs, val, epochs=(1, 20), batch_size=8, lr=1e-2)
    assert set(scores) == {1, 20} and isinstance(head, DualHead)
    best = max(scores, key=lambda e: (scores[e], -e))
    qrels = {q: t.qrels[q] for q in val}
    assert evaluate(qrels, dual_head_run(head, t, val), ["ndcg@10"])["ndcg@10"] == pytest.approx(scores[best])
    with pytest.raises(ValueError):
        fit_on_validation(lambda: DualHead(t.dim), t, pairs, [], epochs=(1,))


# ----------------------------------------------------------------------------- the real model
def test_query_token_table_mean_pools_to_the_models_query_vectors(minilm):
    from lessonlib.dual.encode import encode

    texts = {"a": "Statins lower LDL cholesterol.", "b": "A cat.", "c": "Vitamin D supplements reduce the risk of fractures in the elderly."}
    q = encode(minilm, list(texts.values()), kind="query", cache=False, show_progress=False)
    table = EmbeddingTable(list(texts), q, ["d1"], q[:1], {}, texts)
    tok = query_token_table(table, minilm)
    assert tok.queries.ndim == 3 and tok.queries.shape[0] == 3 and tok.queries.shape[2] == table.dim
    n_real = (np.abs(tok.queries).sum(-1) > 0).sum(1)
    assert n_real.tolist() == [len(minilm.tokenizer(x)["input_ids"]) for x in texts.values()]  # [CLS] ... [SEP]
    assert n_real.max() == tok.queries.shape[1]  # padded to the longest query only
    pooled = PooledDualHead(table.dim, "mean").transform(tok.queries, "query")
    np.testing.assert_allclose(pooled, q, atol=1e-4)  # mean pooling + normalisation = the model's vector
    assert tok.docs is table.docs and tok.query_ids == table.query_ids
