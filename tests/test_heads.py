"""lessonlib.dual.frozen_heads: the heads start at the zero-shot model, training moves them the right way, losses match peers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.dual.frozen_heads import (DualHead, EmbeddingTable, PairHead, dual_head_run, fit_dual_head, fit_pair_head,
                             pair_head_rerank)
from lessonlib.data import relevant_pairs
from lessonlib.losses import InfoNCELoss
from lessonlib.evaluation.metrics import evaluate


def _toy(seed=0, n=40, dim=16, noise=0.8):
    """Queries are noisy copies of their document: doc i is relevant to query i."""
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(n, dim)).astype(np.float32)
    mix = rng.normal(size=(dim, dim)).astype(np.float32) / np.sqrt(dim)  # queries live in a rotated space
    queries = (docs @ mix + noise * rng.normal(size=(n, dim))).astype(np.float32)
    qids, dids = [f"q{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    qrels = {q: {d: 1} for q, d in zip(qids, dids)}
    return EmbeddingTable(qids, queries, dids, docs, qrels, {q: f"query {i}" for i, q in enumerate(qids)}, [f"doc {i}" for i in range(n)])


def _same_run(a, b):
    """Same documents in the same order for every query, scores equal to float32 precision."""
    return a.keys() == b.keys() and all(
        list(a[q]) == list(b[q]) and np.allclose(list(a[q].values()), list(b[q].values()), atol=1e-5) for q in a)


def _ndcg(table, run):
    return evaluate(table.qrels, run, ["ndcg@10"])["ndcg@10"]


def test_dual_head_starts_as_the_zero_shot_model():
    t = _toy()
    head = DualHead(t.dim)
    assert _same_run(dual_head_run(head, t), dual_head_run(None, t))
    assert DualHead(t.dim, rank=4).transform(t.docs, "doc") == pytest.approx(t.docs / np.linalg.norm(t.docs, axis=1, keepdims=True), abs=1e-6)


def test_first_step_loss_equals_infonce_on_normalised_vectors():
    t = _toy()
    pairs = relevant_pairs(t.qrels)
    hist = fit_dual_head(DualHead(t.dim), t, pairs, epochs=1, batch_size=len(pairs), lr=1e-9)
    q = torch.nn.functional.normalize(torch.from_numpy(t.queries), dim=-1)
    d = torch.nn.functional.normalize(torch.from_numpy(t.docs), dim=-1)
    order = [int(qid[1:]) for qid, _ in pairs]
    assert hist[0]["loss"] == pytest.approx(InfoNCELoss(0.05)(q[order], d[order]).item(), rel=1e-4)


def test_training_the_dual_head_learns_the_rotation():
    t = _toy()
    head = DualHead(t.dim)
    hist = fit_dual_head(head, t, relevant_pairs(t.qrels), epochs=30, batch_size=8, lr=1e-2)
    assert hist[-1]["p_pos"] > hist[0]["p_pos"]
    assert _ndcg(t, dual_head_run(head, t)) > _ndcg(t, dual_head_run(None, t)) + 0.2


def test_positives_only_loss_collapses_and_a_sampler_adds_hard_negatives():
    from lessonlib.dual.geometry import uniformity
    from lessonlib.dual.samplers import RandomNegatives

    t = _toy()
    head = DualHead(t.dim)
    fit_dual_head(head, t, relevant_pairs(t.qrels), loss="alignment", epochs=40, lr=1e-2)
    assert uniformity(head.transform(t.docs, "doc")) > uniformity(t.docs) + 0.5
    hist = fit_dual_head(DualHead(t.dim), t, relevant_pairs(t.qrels), sampler=RandomNegatives(t.doc_ids, qrels=t.qrels), n_negatives=2, epochs=1)
    assert "neg_cos" in hist[0]


def test_l2sp_anchor_and_frozen_doc_tower():
    t = _toy()
    moved = {}
    for weight in (0.0, 10.0):
        head = DualHead(t.dim)
        anchor = {k: v.clone() for k, v in head.state_dict().items()}
        fit_dual_head(head, t, relevant_pairs(t.qrels), epochs=10, lr=3e-3, anchor=anchor, anchor_weight=weight)
        moved[weight] = sum(float((head.state_dict()[k] - anchor[k]).norm()) for k in anchor)
    assert moved[10.0] < 0.5 * moved[0.0]  # the L2-SP pull keeps the weights near the anchor
    head2 = DualHead(t.dim)
    head2.doc_map.requires_grad_(False)
    fit_dual_head(head2, t, relevant_pairs(t.qrels), epochs=3, lr=1e-2)
    assert torch.count_nonzero(head2.doc_map[0]) == 0 and torch.count_nonzero(head2.query_map[0]) > 0
    stale = dual_head_run(head2, t, doc_head=None)  # documents left as the zero-shot vectors
    assert _same_run(stale, dual_head_run(head2, t))  # frozen doc tower: the old index is still valid


def test_encode_fn_serves_texts_from_the_table():
    t = _toy()
    fn = t.encode_fn()
    assert np.array_equal(fn(["doc 3", "doc 0"], "doc"), t.docs[[3, 0]])
    assert np.array_equal(fn(["query 5"], "query"), t.queries[[5]])


def test_pair_head_starts_at_scaled_cosine_and_learns_with_a_listwise_objective():
    t = _toy(noise=0.5)
    head = PairHead(t.dim)
    q, d = t.queries[:5], t.docs[:5]
    cos = (q * d).sum(1) / np.linalg.norm(q, axis=1) / np.linalg.norm(d, axis=1)
    assert head.score(q, d) == pytest.approx(20 * cos, rel=1e-5)
    rng = np.random.default_rng(0)
    lists = [(f"q{i}", [f"d{i}"] + [f"d{j}" for j in rng.choice([k for k in range(40) if k != i], 5, replace=False)], [1.0] + [0.0] * 5) for i in range(40)]
    run = {f"q{i}": {f"d{j}": 0.0 for j in range(40)} for i in range(40)}
    before = _ndcg(t, pair_head_rerank(head, t, run, k=40))
    fit_pair_head(head, t, lists, objective="softmax_ce", epochs=40, batch_size=8, lr=3e-3)
    assert _ndcg(t, pair_head_rerank(head, t, run, k=40)) > before + 0.1
    with pytest.raises(ValueError, match="same number"):
        fit_pair_head(PairHead(t.dim), t, [lists[0], (lists[1][0], lists[1][1][:3], lists[1][2][:3])])
