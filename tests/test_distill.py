"""Distillation, momentum teacher and consistency regularisation (lessonlib.dual.distill)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.data import load_dataset
from lessonlib.dual.distill import EMATeacher, PairTeacher, consistency_loss, train_distilled


def test_ema_update_is_the_moco_formula():
    torch.manual_seed(0)
    student = torch.nn.Linear(3, 2)
    ema = EMATeacher(student, momentum=0.9)
    before = [p.detach().clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    ema.update(student)
    for t, b, s in zip(ema.model.parameters(), before, student.parameters()):
        torch.testing.assert_close(t, 0.9 * b + 0.1 * s)
        assert not t.requires_grad
    with pytest.raises(ValueError, match="momentum=1.0"):
        EMATeacher(student, momentum=1.0)


def test_consistency_loss_is_zero_for_equal_views_and_symmetric():
    a, b = torch.randn(4, 6), torch.randn(4, 6)
    assert float(consistency_loss(a, a)) == pytest.approx(0.0, abs=1e-6)
    assert float(consistency_loss(a, b)) > 0
    assert float(consistency_loss(a, b)) == pytest.approx(float(consistency_loss(b, a)), rel=1e-5)
    assert float(consistency_loss(a, a + 3.0)) == pytest.approx(0.0, abs=1e-5)  # softmax is shift-invariant


def test_pair_teacher_scores_each_pair_once():
    ds = load_dataset("sample", "test").subset(n_docs=20, n_queries=3, seed=0)
    calls = []

    def score_fn(qs, ds_):
        calls.append(len(qs))
        return np.array([len(d) for d in ds_], dtype=np.float32)

    teacher = PairTeacher(score_fn)
    qids = list(ds.queries)[:2]
    docs = [list(ds.corpus)[:3], list(ds.corpus)[1:4]]
    first = teacher.scores(ds, qids, docs)
    second = teacher.scores(ds, qids, docs)
    assert first.shape == (2, 3) and np.array_equal(first, second)
    assert calls == [6]
    assert first[0, 0] == len(ds.doc_text(docs[0][0]))


@pytest.mark.parametrize("kd_loss", ["margin_mse", "kl"])
def test_distillation_with_ema_and_consistency_runs_and_logs_every_term(kd_loss):
    ds = load_dataset("sample", "test").subset(n_docs=30, n_queries=8, seed=0)
    teacher = PairTeacher(lambda qs, docs: np.array([float(len(set(q.split()) & set(d.split()))) for q, d in zip(qs, docs)]))
    _, history, model = train_distilled(
        ds, teacher=teacher, kd_loss=kd_loss, ema_momentum=0.9, ema_weight=0.5, consistency_weight=0.5,
        negatives="bm25", n_negatives=1, batch_size=4, max_steps=2, max_length=32, query_max_length=16,
        progress=False, device="cpu",
    )  # fmt: skip
    steps = [h for h in history if "loss" in h]
    assert len(steps) == 2
    for h in steps:
        assert {"nce", "kd", "ema", "consistency"} <= set(h) and np.isfinite(h["loss"])
        assert h["loss"] == pytest.approx(h["nce"] + h["kd"] + 0.5 * h["ema"] + 0.5 * h["consistency"], rel=1e-4)
    assert len(teacher.cache) > 0
