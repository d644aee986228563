"""The monoBERT recipe: presets, training lists, top-k helpers, union scoring, fusion on validation, a tiny run."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.cross import recipe as R
from lessonlib.evaluation.metrics import ndcg10
from lessonlib.cross.data import bm25_run
from lessonlib.data import load_dataset, split_queries
from lessonlib.retrieval.rerank import choose_alpha, interpolate_first_stage
from lessonlib.core.runs import truncate


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample", "train")


def test_presets_by_mode_and_device():
    assert R.CrossRecipe.for_mode(fast=True) is R.CrossRecipe.FAST
    assert R.CrossRecipe.for_mode(fast=False, device="cpu") is R.CrossRecipe.CPU
    assert R.CrossRecipe.for_mode(fast=False, device="cuda") is R.CrossRecipe.GPU
    assert R.CrossRecipe.GPU.n_negatives == 15 and R.CrossRecipe.GPU.epochs == 6 and R.CrossRecipe.GPU.eval_k == 100  # bench_cross.py's headline
    assert R.CrossRecipe.CPU.replace(lr=1e-5).lr == 1e-5 and R.CrossRecipe.CPU.lr == 5e-5
    assert R.CrossRecipe.GPU.scoring == "cls" and R.CrossRecipe.CPU.scoring == R.CrossRecipe.FAST.scoring == "pooled"


def test_claim_groups_use_fit_queries_only_and_never_a_judged_positive_as_negative(sample):
    fit, val = split_queries(sample.qrels, 0.2, seed=0)
    run = bm25_run(sample, sample.queries, k=20)
    rec = R.CrossRecipe.CPU.replace(n_negatives=3, neg_depth=20, augment_queries=1)
    groups = R.claim_groups(sample, run, fit, rec)
    base = [g for g in groups if not g.meta.get("augmented")]
    assert len(groups) == 2 * len(base) and {g.qid for g in groups} <= set(fit)
    for g in base:
        ids = g.meta["doc_ids"]
        assert sample.qrels[g.qid][ids[0]] > 0 and all(sample.qrels[g.qid].get(d, 0) <= 0 for d in ids[1:])
        assert len(g.docs) == 4 and g.labels[1:] == [0.0, 0.0, 0.0]
    aug = [g for g in groups if g.meta.get("augmented")]
    assert all(a.docs == b.docs for a, b in zip(aug, base)) and any(a.query != b.query for a, b in zip(aug, base))


def test_top_k_and_restrict_by_hand():
    run = {"q": {"a": 1.0, "b": 3.0, "c": 2.0, "d": 2.0}}
    assert list(truncate(run, 3)["q"]) == ["b", "d", "c"]  # ties by doc id descending (trec_eval)
    scores = {"q": {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}}
    assert R.restrict(scores, run, 2) == {"q": {"b": 0.2, "d": 0.4}}


class _Counting:
    def __init__(self):
        self.pairs = []

    def score(self, pairs, batch_size=64, show_progress=False):
        self.pairs += list(pairs)
        return np.array([len(d) for _, d in pairs], dtype=np.float32)


def test_score_candidates_scores_each_pair_of_the_union_once(sample):
    qids = sorted(sample.queries)[:5]
    a = bm25_run(sample, {q: sample.queries[q] for q in qids}, k=6)
    b = {q: dict(list(sorted(a[q].items(), key=lambda x: x[1]))[:4]) for q in qids}  # overlaps with a
    model = _Counting()
    scores, secs = R.score_candidates(model, sample, [a, b], k=6)
    union = {(q, d) for q in qids for d in set(a[q]) | set(b[q])}
    assert len(model.pairs) == len(union) and secs >= 0
    assert scores[qids[0]][next(iter(a[qids[0]]))] == len(sample.doc_text(next(iter(a[qids[0]]))))


def test_rerank_and_fuse_chooses_alpha_on_validation_as_choose_alpha_does(sample):
    qids = sorted(sample.qrels)[:30]
    first = bm25_run(sample, {q: sample.queries[q] for q in qids}, k=10)
    rng = np.random.default_rng(0)
    ce = {q: {d: float(rng.normal()) + 2.0 * sample.qrels[q].get(d, 0) for d in docs} for q, docs in first.items()}
    val, test = qids[:15], qids[15:]
    sub = lambda run, qs: {q: run[q] for q in qs}  # noqa: E731
    qrels = sample.qrels
    rep = R.rerank_and_fuse(sub(ce, val), sub(ce, test), sub(first, val), sub(first, test),
                            {q: qrels[q] for q in val}, {q: qrels[q] for q in test}, k=10)
    alpha, curve = choose_alpha(sub(ce, val), sub(first, val), {q: qrels[q] for q in val}, alphas=R.ALPHAS)
    assert rep["alpha"] == alpha and rep["val_fused"] == curve[alpha]
    assert np.isclose(rep["fused"], ndcg10({q: qrels[q] for q in test}, interpolate_first_stage(sub(ce, test), sub(first, test), alpha)))
    assert rep["alone"] > rep["first"] - 0.2  # the fake CE knows the labels (plus noise)


def test_a_tiny_recipe_trains_both_stages_and_restores_the_scoring_length(sample):
    fit, val = split_queries(sample.qrels, 0.2, seed=0)
    run = bm25_run(sample, sample.queries, k=10)
    rec = R.CrossRecipe.FAST.replace(n_negatives=1, neg_depth=10, weak_title_docs=4, max_steps=2, batch_size=2, max_length=96,
                         train_max_length=32, eval_k=3, val_queries=3)
    out = R.train_monobert(sample, run, fit, val, rec, progress=False)
    stages = {h.get("stage") for h in out.history}
    assert stages == {"weak", "claims"} and out.n_weak > 0 and out.n_claims > 0
    assert out.model.max_length == 96 and len(out.val_curve) >= 1
    steps = sum(1 for h in out.history if "loss" in h)
    assert out.pairs_seen == steps * 2 * 2


def test_the_scoring_knob_picks_the_model_class_and_rejects_unknown_ones(sample):
    from lessonlib.cross import CrossEncoder
    from lessonlib.cross.pooled import PooledCrossEncoder

    fit, val = split_queries(sample.qrels, 0.2, seed=0)
    run = bm25_run(sample, sample.queries, k=10)
    rec = R.CrossRecipe.FAST.replace(n_negatives=1, neg_depth=10, weak_title_docs=0, max_steps=1, batch_size=2, max_length=96,
                         eval_k=3, val_queries=0)
    out = R.train_monobert(sample, run, fit, val, rec.replace(scoring="pooled"), progress=False)
    assert type(out.model) is PooledCrossEncoder
    assert type(R.train_monobert(sample, run, fit, val, rec.replace(scoring="cls"), progress=False).model) is CrossEncoder
    with pytest.raises(ValueError, match="scoring must be one of"):
        R.train_monobert(sample, run, fit, val, rec.replace(scoring="mean"), progress=False)
