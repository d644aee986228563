"""Adaptive-margin triplet, additive-margin softmax (LaBSE), temporal consistency, and their frozen-head trainers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lessonlib import losses
from lessonlib.data import augment
from lessonlib.dual import frozen_objectives as fo
from lessonlib.dual.frozen_heads import DualHead, EmbeddingTable


def _batch(b=6, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, d, generator=g) for _ in range(3)]


def test_adaptive_margin_matches_a_per_triplet_hinge():
    q, p, n = _batch()
    gap = torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    loss = losses.AdaptiveMarginTripletLoss(base=0.1, scale=0.5)
    cos = lambda a, b: F.cosine_similarity(a, b, dim=-1)
    ref = torch.stack([torch.relu(0.1 + 0.5 * gap[i] - cos(q[i], p[i]) + cos(q[i], n[i])) for i in range(6)]).mean()
    assert loss(q, p, n, gap).item() == pytest.approx(ref.item(), abs=1e-6)


def test_scale_zero_is_torch_triplet_margin_with_cosine_distance():
    q, p, n = _batch()
    ours = losses.AdaptiveMarginTripletLoss(base=0.3, scale=0.0)(q, p, n, torch.rand(6))
    ref = torch.nn.TripletMarginWithDistanceLoss(distance_function=lambda a, b: 1 - F.cosine_similarity(a, b), margin=0.3)(q, p, n)
    assert ours.item() == pytest.approx(ref.item(), abs=1e-6)
    assert losses.AdaptiveMarginTripletLoss(base=0.3)(q, p, n).item() == pytest.approx(ref.item(), abs=1e-6)


def test_margins_are_clamped_and_bad_input_is_refused():
    loss = losses.AdaptiveMarginTripletLoss(base=0.1, scale=1.0, min_margin=0.05, max_margin=0.5)
    assert loss.margins(torch.tensor([-1.0, 0.0, 1.0])).tolist() == pytest.approx([0.05, 0.1, 0.5])
    q, p, n = _batch()
    with pytest.raises(ValueError, match="gap"):
        loss(q, p, n, torch.zeros(5))
    with pytest.raises(ValueError, match="scale"):
        losses.AdaptiveMarginTripletLoss(scale=-1)
    assert isinstance(losses.get("adaptive_margin_triplet"), losses.AdaptiveMarginTripletLoss)


def test_additive_margin_softmax_reference_and_margin_zero_is_symmetric_infonce():
    x, y, _ = _batch()
    loss = losses.AdditiveMarginSoftmaxLoss(scale=10.0, margin=0.3)
    s = F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T
    logits = 10.0 * (s - 0.3 * torch.eye(6))
    ref = 0.5 * (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6)))
    assert loss(x, y).item() == pytest.approx(ref.item(), abs=1e-5)
    zero = losses.AdditiveMarginSoftmaxLoss(scale=20.0, margin=0.0)(x, y)
    assert zero.item() == pytest.approx(losses.InfoNCELoss(0.05, symmetric=True)(x, y).item(), abs=1e-5)
    assert loss(x, y).item() > losses.AdditiveMarginSoftmaxLoss(scale=10.0, margin=0.0)(x, y).item()  # the margin only adds
    with pytest.raises(ValueError, match="margin"):
        losses.AdditiveMarginSoftmaxLoss(margin=-0.1)


def test_temporal_consistency_weights_recent_versions_more():
    a, b, _ = _batch(b=2)
    loss = losses.TemporalConsistencyLoss(time_scale=12.0)
    drift = 1 - F.cosine_similarity(a, b)
    w = torch.exp(-torch.tensor([0.0, 24.0]) / 12.0)
    assert loss(a, b, torch.tensor([0.0, 24.0])).item() == pytest.approx(((w * drift).sum() / w.sum()).item(), abs=1e-6)
    assert losses.TemporalConsistencyLoss()(a, b).item() == pytest.approx(drift.mean().item(), abs=1e-6)
    assert loss(a, a, torch.tensor([3.0, 5.0])).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="dt"):
        loss(a, b, torch.tensor([-1.0, 0.0]))


def test_pair_recall_at_1_counts_strict_nearest_pairs():
    x = np.eye(3, dtype=np.float32)
    assert fo.pair_recall_at_1(x, x) == 1.0
    assert fo.pair_recall_at_1(x, x[[1, 0, 2]]) == pytest.approx(1 / 3)
    y = x.copy()
    y[0] = [1, 1, 0]  # x0·y0 drops to 1/√2 but stays x0's best; x1 now prefers y1 (1) to y0 (1/√2)
    assert fo.pair_recall_at_1(x, y) == 1.0
    tie = np.array([[1, 0], [1, 0]], np.float32)
    assert fo.pair_recall_at_1(tie, tie) == 0.0  # a tie with another candidate is a miss
    assert fo.pair_hits(x, x[[1, 0, 2]]).tolist() == [False, False, True]
    with pytest.raises(ValueError, match="pair_hits"):
        fo.pair_recall_at_1(x, x[:2])


def _toy_table(seed=0, nq=24, nd=40, d=16):
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(nd, d)).astype(np.float32)
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(nq)}
    queries = (docs[:nq] + 1.5 * rng.normal(size=(nq, d))).astype(np.float32)
    return EmbeddingTable([f"q{i}" for i in range(nq)], queries, [f"d{j}" for j in range(nd)], docs, qrels)


def test_bm25_triplets_draw_non_relevant_negatives_from_the_top_of_the_run():
    run = {"q0": {"d0": 3.0, "d1": 2.0, "d2": 2.0, "d3": 1.0, "d9": 0.5}}
    trip = fo.bm25_triplets([("q0", "d0")], run, {"q0": {"d0": 1}}, n_negatives=2, depth=2, seed=0)
    assert sorted(t[2] for t in trip) == ["d1", "d2"] and all(t[:2] == ("q0", "d0") for t in trip)
    assert fo.bm25_triplets([("q0", "d0")], run, {"q0": {"d0": 1}}, n_negatives=1, depth=1)[0][2] == "d2"  # tie: id descending


def test_score_gaps_are_rank_normalised_and_follow_the_teacher():
    run = {"q": {"p": 10.0, "a": 9.0, "b": 5.0, "c": 1.0}}
    gaps = fo.score_gaps([("q", "p", "a"), ("q", "p", "c"), ("q", "p", "b")], run)
    assert gaps.tolist() == pytest.approx([0.0, 1.0, 0.5])
    t = _toy_table()
    trip = [("q0", "d0", "d5"), ("q1", "d1", "d6"), ("q2", "d2", "d7")]
    unit = lambda v: v / np.linalg.norm(v)
    raw = [unit(t.q([q])[0]) @ unit(t.d([p])[0]) - unit(t.q([q])[0]) @ unit(t.d([n])[0]) for q, p, n in trip]
    assert np.argsort(fo.score_gaps(trip, t)).tolist() == np.argsort(raw).tolist()


def test_triplet_head_learns_and_alignment_head_aligns():
    t = _toy_table()
    pairs = [(f"q{i}", f"d{i}") for i in range(24)]
    run = {q: {d: float(t.q([q])[0] @ t.d([d])[0]) for d in t.doc_ids} for q, _ in pairs}
    trip = fo.bm25_triplets(pairs, run, t.qrels, n_negatives=3, depth=10)
    head = DualHead(t.dim)
    hist = fo.fit_triplet_head(head, t, trip, losses.AdaptiveMarginTripletLoss(0.2, 0.2), fo.score_gaps(trip, run), epochs=15, lr=1e-2)
    assert hist[-1] < hist[0]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 16)).astype(np.float32)
    y = (x @ rng.normal(size=(16, 16)) + 0.05 * rng.normal(size=(64, 16))).astype(np.float32)  # a "language": a linear map
    before = fo.pair_recall_at_1(x[48:], y[48:])
    h = DualHead(16)
    fo.fit_alignment_head(h, x[:48], y[:48], epochs=60, lr=1e-2, batch_size=16)
    assert fo.pair_recall_at_1(h.transform(x[48:], "query"), h.transform(y[48:], "doc")) > before  # held-out pairs


def test_temporal_weight_keeps_versions_closer():
    t = _toy_table()
    pairs = [(f"q{i}", f"d{i}") for i in range(24)]
    rng = np.random.default_rng(2)
    old = t.docs[:30]
    new = (old + 0.8 * rng.normal(size=old.shape)).astype(np.float32)
    drift = {}
    for w in (0.0, 5.0):
        h = DualHead(t.dim)
        fo.fit_dual_head_temporal(h, t, pairs, old, new, weight=w, epochs=20, lr=1e-2, batch_size=8)
        drift[w] = float(fo.version_drift(h, old, new).mean())
        assert drift[w] == pytest.approx(float(1 - (h.transform(old, "doc") * h.transform(new, "doc")).sum(1).mean()), abs=1e-6)
    assert drift[5.0] < drift[0.0]
    with pytest.raises(ValueError, match="weight"):
        fo.fit_dual_head_temporal(DualHead(t.dim), t, pairs, old, new, weight=-1)


def test_extend_table_adds_rows_and_judgements(monkeypatch):
    t = _toy_table(nq=3)
    monkeypatch.setattr(fo, "encode", lambda model, texts, **kw: np.ones((len(texts), t.dim), np.float32))  # no model needed
    q, rel = augment.augment_queries({"q0": "a b"}, {"q0": ["a c"]}, {"q0": {"d0": 1}})
    ext = fo.extend_table(t, q, rel)
    assert ext.query_ids == ["q0", "q1", "q2", "q0#aug0"] and ext.qrels["q0#aug0"] == {"d0": 1}
    assert np.allclose(ext.q(["q0#aug0"]), 1.0) and np.allclose(ext.q(["q1"]), t.q(["q1"]))


def test_synthetic_revision_and_pig_latin():
    text = "First sentence here. Second one follows. Third is last."
    assert augment.synthetic_revision(text, months=0, deletion=0.0).count(".") == 2  # one edit at least
    assert augment.synthetic_revision(text, months=36, deletion=0.0).count(".") == 1  # 3 edits, one sentence kept
    assert augment.synthetic_revision(text, 12, seed=3) == augment.synthetic_revision(text, 12, seed=3)
    versions = augment.synthetic_versions({"a": text, "b": text}, max_months=12, seed=0)
    assert [v[0] for v in versions] == ["a", "b"] and all(1 <= v[2] <= 12 for v in versions)
    assert versions == augment.synthetic_versions({"a": text, "b": text}, max_months=12, seed=0)
    assert augment.pig_latin("Protein binds, apple (strongly) x2!") == "Oteinpray indsbay, appleway (onglystray) x2!"
