"""fit_dual_head with a cross-batch memory (XBM, Wang et al. 2020) and a validation learning curve (eval_fn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.data import relevant_pairs
from lessonlib.dual.frozen_heads import DualHead, EmbeddingTable, fit_dual_head
from lessonlib.dual.samplers import CrossBatchMemory, RandomNegatives
from lessonlib.losses import InfoNCELoss


def _toy(n=40, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(n, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = (docs + 0.8 * rng.normal(size=(n, dim)) / np.sqrt(dim)).astype(np.float32)
    qids, dids = [f"q{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    return EmbeddingTable(qids, queries, dids, docs, {q: {d: 1} for q, d in zip(qids, dids)})


def test_memory_adds_the_past_batches_positives_as_negatives():
    t = _toy()
    pairs = relevant_pairs(t.qrels)  # 40 pairs, batch 8: 5 steps per epoch
    memory = CrossBatchMemory(size=16)
    hist = fit_dual_head(DualHead(t.dim), t, pairs, epochs=2, batch_size=8, memory=memory)
    n_neg = [r["n_neg"] for r in hist]
    assert n_neg[0] == 7  # step 1: in-batch negatives only, the memory is empty
    assert n_neg[1] == 7 + 8 and n_neg[2] == 7 + 16  # then the last 8, 16 positives (size 16: full)
    assert "memory" not in hist[0] and hist[2]["memory"] == 16
    assert len(memory) == 16 and memory.enqueued_ == 8 * len(hist)
    # in epoch 2 the memory can hold a query's own positive: masked, so fewer than 7 + 16 negatives
    assert all(x <= 7 + 16 for x in n_neg[5:]) and min(n_neg[5:]) < 7 + 16
    plain = fit_dual_head(DualHead(t.dim), t, pairs, epochs=2, batch_size=8)
    assert all(r["n_neg"] == 7 for r in plain) and "memory" not in plain[-1]


def test_memory_loss_is_infonce_over_batch_plus_memory():
    t = _toy()
    pairs = relevant_pairs(t.qrels)[:16]
    memory = CrossBatchMemory(size=8)
    past = torch.nn.functional.normalize(torch.randn(8, t.dim, generator=torch.Generator().manual_seed(3)), dim=-1)
    memory.enqueue(past, ids=[f"x{i}" for i in range(8)])  # ids outside the collection: never a positive
    head = DualHead(t.dim)
    hist = fit_dual_head(head, t, pairs, epochs=1, batch_size=16, memory=memory, lr=1e-12)
    q = torch.nn.functional.normalize(torch.from_numpy(t.q([a for a, _ in pairs])), dim=-1)
    # the batch order is shuffled, but InfoNCE's mean over rows does not depend on it
    p = torch.nn.functional.normalize(torch.from_numpy(t.d([b for _, b in pairs])), dim=-1)
    expected = InfoNCELoss(0.05)(q, p, past)
    assert hist[0]["n_neg"] == 15 + 8
    assert hist[0]["loss"] == pytest.approx(float(expected), rel=1e-5)
    without = fit_dual_head(DualHead(t.dim), t, pairs, epochs=1, batch_size=16, lr=1e-12)
    assert hist[0]["loss"] > without[0]["loss"]  # more negatives in the partition: a larger loss


def test_memory_masks_entries_relevant_to_the_query():
    t = _toy(n=8)
    pairs = relevant_pairs(t.qrels)
    memory = CrossBatchMemory(size=8)
    memory.enqueue(torch.from_numpy(t.docs), ids=list(t.doc_ids))  # every query's own positive is in the memory
    hist = fit_dual_head(DualHead(t.dim), t, pairs, epochs=1, batch_size=8, memory=memory)
    assert hist[0]["n_neg"] == 7 + 7  # 8 entries, one of them the query's own positive


def test_memory_with_a_sampler_and_its_errors():
    t = _toy()
    pairs = relevant_pairs(t.qrels)
    hist = fit_dual_head(DualHead(t.dim), t, pairs, epochs=1, batch_size=8, sampler=RandomNegatives(t.doc_ids, qrels=t.qrels),
                         n_negatives=2, memory=CrossBatchMemory(size=32))
    assert hist[0]["n_neg"] <= 7 + 16 and hist[-1]["n_neg"] > hist[0]["n_neg"]
    with pytest.raises(ValueError, match="memory"):
        fit_dual_head(DualHead(t.dim), t, pairs, loss="alignment", memory=CrossBatchMemory(size=8))


def test_eval_fn_gives_a_learning_curve():
    t = _toy()
    calls = []

    def eval_fn(head):
        calls.append(1)
        return {"score": float(len(calls))}

    hist = fit_dual_head(DualHead(t.dim), t, relevant_pairs(t.qrels), epochs=2, batch_size=8, eval_fn=eval_fn, eval_every=2)
    evals = [r for r in hist if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4, 6, 8, 10] and evals[-1]["eval"]["score"] == len(calls)
