"""lessonlib.workbook.trained: the cached models the notebooks share; lessonlib.dual.recipe.DualRecipe.

The cached cross-encoders (finetuned_cross / load_cross / workbook_cross)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lessonlib.dual.recipe import DualRecipe
from lessonlib.workbook import trained
from lessonlib.cross import recipe as cross_recipe
from lessonlib.data import split_queries

TINY = cross_recipe.CrossRecipe.FAST.replace(weak_title_docs=0, max_steps=1, batch_size=2, n_negatives=1, neg_depth=5,
                                 max_length=96, train_max_length=None, eval_k=3, val_queries=2)


@pytest.fixture()
def sample_train(monkeypatch, tmp_path):
    from lessonlib.data import load_dataset

    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    return load_dataset("sample", "train")


def test_finetuned_cross_trains_once_then_serves_the_cached_folder(sample_train, monkeypatch):
    fit, val = split_queries(sample_train.qrels, fraction=0.2, seed=0)
    path = trained.finetuned_cross(sample_train, fit[:6], val[:2], TINY)
    info = json.loads((path / "training.json").read_text())
    assert info["steps"] == 1 and info["recipe"]["max_length"] == 96 and info["n_claims"] >= 1
    ce = trained.load_cross(path, device="cpu")
    assert ce.max_length == 96 and ce.overflow == "truncate"
    assert ce.score("a query", ["a document", "another"]).shape == (2,)

    def boom(*a, **k):
        raise AssertionError("must not train again")

    monkeypatch.setattr(cross_recipe, "train_monobert", boom)
    assert trained.finetuned_cross(sample_train, fit[:6], val[:2], TINY) == path  # same key: cached
    with pytest.raises(AssertionError, match="train again"):  # other fit queries: another key, trains
        trained.finetuned_cross(sample_train, fit[1:7], val[:2], TINY)


def test_finetuned_cross_needs_judged_fit_and_validation_queries(sample_train):
    with pytest.raises(ValueError, match="fit and 0 validation"):
        trained.finetuned_cross(sample_train, list(sample_train.qrels)[:3], ["not-a-query"], TINY)


def test_finetuned_cross_with_hybrid_negatives_reads_them_from_the_rrf_of_bm25_and_dense(sample_train, monkeypatch):
    fit, val = split_queries(sample_train.qrels, fraction=0.2, seed=0)
    seen = {}
    real = cross_recipe.train_monobert

    def spy(ds, negatives_run, fit_q, val_q, recipe, val_run=None, **kw):
        seen.update(negatives=negatives_run, val_run=val_run)
        return real(ds, negatives_run, fit_q, val_q, recipe, val_run=val_run, **kw)

    monkeypatch.setattr(cross_recipe, "train_monobert", spy)
    path = trained.finetuned_cross(sample_train, fit[:6], val[:2], TINY, negatives="hybrid", fast=True)
    runs = trained.cross_first_stages(sample_train, sorted(fit[:6] + val[:2]), fast=True)
    assert seen["negatives"] == runs["hybrid"] and seen["val_run"] == runs["bm25"]  # validation re-ranks BM25
    assert runs["hybrid"] != runs["bm25"]
    assert json.loads((path / "training.json").read_text())["negatives"] == "hybrid"
    with pytest.raises(ValueError, match="negatives must be one of"):
        trained.finetuned_cross(sample_train, fit[:6], val[:2], TINY, negatives="dense")


def test_workbook_cross_is_the_mode_recipe_with_hybrid_negatives(sample_train, monkeypatch):
    calls = []
    monkeypatch.setattr(trained, "finetuned_cross", lambda *a, **k: calls.append((a, k)) or "folder")
    assert trained.workbook_cross(sample_train, ["f"], ["v"], fast=True) == "folder"
    assert trained.workbook_cross(sample_train, ["f"], ["v"], fast=False, device="cpu") == "folder"
    trained.workbook_cross(sample_train, ["f"], ["v"], fast=False, device="cuda")
    recipes = [a[3] for a, _ in calls]
    assert recipes == [cross_recipe.CrossRecipe.FAST, cross_recipe.CrossRecipe.CPU, cross_recipe.CrossRecipe.GPU]
    assert recipes[1].scoring == "pooled" and recipes[2].scoring == "cls"  # a CPU affords the pooled recipe only
    assert all(k["negatives"] == "hybrid" for _, k in calls)


def test_ablation_overrides_by_mode_and_device():
    assert trained.ablation_overrides(fast=True, cpu_epochs=1) == trained.ABLATION_FAST  # fast wins
    assert trained.ablation_overrides(fast=False, device="cpu") == {}  # the CPU recipe as it is
    assert trained.ablation_overrides(fast=False, device="cpu", cpu_epochs=1) == {"epochs": 1}
    assert trained.ablation_overrides(fast=False, device="cuda", cpu_epochs=1) == {}  # a GPU runs the full recipe
    recipe = DualRecipe.for_mode(fast=False, device="cpu").replace(
        **trained.ablation_overrides(fast=False, device="cpu", cpu_epochs=1))
    assert recipe.epochs == 1 and recipe.negatives == "bm25"


def test_dual_recipe_is_frozen_with_three_sizes():
    D = DualRecipe
    assert D.for_mode(fast=True) is D.FAST and D.for_mode(fast=False, device="cpu") is D.CPU
    assert D.for_mode(fast=False, device="cuda") is D.GPU
    with pytest.raises(dataclasses.FrozenInstanceError):
        D.CPU.epochs = 5
    assert D.CPU.replace(epochs=5).epochs == 5 and D.CPU.epochs == 2
    assert D.GPU.changes() == {"negatives": "dynamic", "n_negatives": 3, "skip_top": 3, "depth": 30, "epochs": 8}
    with pytest.raises(ValueError, match="negatives"):
        D.CPU.replace(negatives="hardest")


def test_ict_pretrain_pairs_by_mode_and_device():
    assert trained.ict_pretrain_pairs(fast=True, device="cuda") == 32
    assert trained.ict_pretrain_pairs(fast=False, device="cpu") == 2000
    assert trained.ict_pretrain_pairs(fast=False, device="cuda") is None  # all abstracts
