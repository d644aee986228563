"""Models the notebooks share, trained once and cached: "get or train", then reuse the saved folder.

Each function builds a key from the dataset (name, split, its query and document ids) and every
training knob, and keeps the trained model in ``config.cache_dir("models", key)``. A second call
with the same arguments returns the folder at once, so a notebook re-run costs nothing. The knobs
come from the recipes' sizes by mode and device (``DualRecipe.for_mode()``, ``CrossRecipe.for_mode()``;
:mod:`lessonlib.core.recipe`). Used by notebooks 03, 04, 08, 15, 20, 22 and 23.

>>> path = finetuned_dual(course_dataset("train"))          # doctest: +SKIP
>>> model = DualEncoder.load(path)                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from lessonlib import __version__
from lessonlib.core import config
from lessonlib.data import Dataset
from lessonlib.core.io import atomic_write
from lessonlib.dual.recipe import DualRecipe


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of a dataset's name, split, query ids, judged pairs and document ids."""
    h = hashlib.sha256()
    h.update(f"{dataset.name}|{dataset.split}".encode())
    for qid in sorted(dataset.queries):
        h.update(qid.encode() + b"\0")
        for did in sorted(dataset.qrels.get(qid, {})):
            h.update(did.encode() + b"\1")
    h.update(str(len(dataset.corpus)).encode())
    h.update("|".join(list(dataset.corpus)[:50]).encode())
    return h.hexdigest()[:16]


ABLATION_FAST: dict[str, Any] = dict(max_steps=6, batch_size=8, train_max_length=64, max_length=128)


def ablation_overrides(fast: bool | None = None, device: str | None = None, cpu_epochs: int | None = None) -> dict[str, Any]:
    """Knobs a notebook that trains many variants adds to ``DualRecipe.for_mode()`` (notebooks 03 and 04).

    Fast mode: :data:`ABLATION_FAST` (six optimizer steps on the fast subset: the machinery runs,
    the numbers are noise). Full mode: nothing on a GPU; on a CPU, ``epochs=cpu_epochs`` where a
    notebook asks for it, so that its several trainings fit a laptop session.
    """
    fast = config.is_fast() if fast is None else fast
    if fast:
        return dict(ABLATION_FAST)
    if cpu_epochs is not None and config.device(device) != "cuda":
        return dict(epochs=int(cpu_epochs))
    return {}


def ict_pretrain_pairs(fast: bool | None = None, device: str | None = None) -> int | None:
    """How many inverse-cloze pairs notebook 04 pre-trains on: 32 in fast mode, 2,000 on a CPU, all on a GPU."""
    if config.is_fast() if fast is None else fast:
        return 32
    return None if config.device(device) == "cuda" else 2000


def cache_key(kind: str, dataset: Dataset, knobs: dict[str, Any]) -> str:
    """``kind-<hash>`` of the dataset fingerprint and the knobs (sorted JSON)."""
    blob = json.dumps({"data": dataset_fingerprint(dataset), "knobs": knobs, "v": __version__}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _cached(kind: str, dataset: Dataset, knobs: dict[str, Any], train) -> Path:
    folder = config.cache_dir("models") / cache_key(kind, dataset, knobs)
    if (folder / "training.json").exists():
        return folder
    train(folder)
    return folder


def _split_knobs(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in fields(DualRecipe)}
    return {k: v for k, v in overrides.items() if k in names}, {k: v for k, v in overrides.items() if k not in names}


def finetuned_dual(dataset_train: Dataset, fast: bool | None = None, model_name: str = config.DEFAULT_MODEL, **overrides: Any) -> Path:
    """The folder of a dual encoder fine-tuned on ``dataset_train`` (trained on the first call).

    ``overrides`` change knobs of ``DualRecipe.for_mode(fast)`` (e.g. ``negatives="dense"``) or add
    arguments of :func:`lessonlib.dual.train.train_dual`; they are part of the cache key. The folder
    loads with ``DualEncoder.load`` and ``SentenceTransformer``.
    """
    from lessonlib.dual.train import train_dual  # deferred: pulls in torch

    changes, other = _split_knobs({**overrides, "model_name": str(model_name)})
    recipe = DualRecipe.for_mode(fast).replace(**changes)
    knobs = {**recipe.changes(), "model_name": recipe.model_name, **other}
    return _cached("dual", dataset_train, knobs, lambda out: train_dual(dataset_train, out_dir=out, **knobs))


def training_history(model_dir: str | os.PathLike) -> list[dict]:
    """The history list saved by :func:`lessonlib.dual.train.train_dual` in ``training.json``."""
    return json.loads((Path(model_dir) / "training.json").read_text())["history"]


def distilled_dual(dataset_train: Dataset, teacher: str = "bi-encoder-512", fast: bool | None = None, **overrides: Any) -> Path:
    """A dual encoder distilled from a teacher (see :func:`lessonlib.dual.distill.train_distilled`), cached."""
    from lessonlib.dual.distill import train_distilled  # deferred: pulls in torch

    changes, other = _split_knobs(overrides)
    knobs = {**DualRecipe.for_mode(fast).replace(**changes).changes(), **other, "teacher": teacher}
    return _cached("distilled", dataset_train, knobs, lambda out: train_distilled(dataset_train, out_dir=out, **knobs))



# --------------------------------------------------------------------------- cross-encoder
#: first stages whose top ``neg_depth`` gives a cross-encoder its claim negatives (``finetuned_cross(negatives=...)``)
NEGATIVES = ("bm25", "hybrid")
#: candidates per claim of the first-stage runs that negatives and validation are read from
FIRST_STAGE_K = 100


def cross_first_stages(dataset: Dataset, queries: list[str], fast: bool | None = None, dense: bool = True,
                       progress: bool = False) -> dict[str, dict]:
    """The first stages of the workbook's cross-encoders, top ``FIRST_STAGE_K`` per query:
    ``"bm25"`` (``lessonlib.cross.data.bm25_run``) and, with ``dense``, ``"dense"`` (zero-shot MiniLM,
    ``dense_run``; 128 tokens in fast mode) and ``"hybrid"`` (their reciprocal-rank fusion, ``merge_runs``).
    :func:`finetuned_cross` reads its negatives and validation from them; notebook 15 shows the same runs."""
    from lessonlib.cross.data import bm25_run, merge_runs  # deferred: pulls in torch
    from lessonlib.dual.encode import dense_run  # deferred: pulls in torch

    fast = config.is_fast() if fast is None else fast
    sub = dataclasses.replace(dataset, queries={q: dataset.queries[q] for q in queries})
    runs = {"bm25": bm25_run(sub, sub.queries, k=FIRST_STAGE_K)}
    if dense:
        runs["dense"] = dense_run(sub, config.DEFAULT_MODEL, k=FIRST_STAGE_K, max_length=128 if fast else None,
                                  show_progress=progress)
        runs["hybrid"] = merge_runs(runs["bm25"], runs["dense"])
    return runs


def finetuned_cross(dataset_train: Dataset, fit_qids: list[str], val_qids: list[str], recipe=None,
                    progress: bool = False, negatives: str = "bm25", fast: bool | None = None) -> Path:
    """The folder of a monoBERT cross-encoder trained by ``lessonlib.cross.recipe.train_monobert`` (cached).

    Claim negatives come from the top ``neg_depth`` of a first stage over the train claims,
    ``negatives`` = ``"bm25"`` or ``"hybrid"`` (BM25 + zero-shot MiniLM, RRF; :func:`cross_first_stages`);
    only ``fit_qids`` train, ``val_qids`` pick the epoch (early stopping on BM25's top ``eval_k``).
    ``recipe`` is a ``lessonlib.cross.recipe.CrossRecipe`` (default ``for_mode()``: FAST / CPU / GPU).
    The dataset, the recipe, the negatives and both query lists make the cache key; the first call
    trains, later ones return the folder at once. Load it with :func:`load_cross` (it keeps the token limit).

    >>> fit_q, val_q = split_queries(train.qrels, fraction=0.15, seed=0)       # doctest: +SKIP
    >>> ce = load_cross(finetuned_cross(train, fit_q, val_q))                  # doctest: +SKIP
    """
    from lessonlib.cross import recipe as cross_recipe  # deferred: pulls in torch

    if negatives not in NEGATIVES:
        raise ValueError(f"finetuned_cross: negatives must be one of {NEGATIVES}, got {negatives!r}")
    fast = config.is_fast() if fast is None else fast
    recipe = recipe or cross_recipe.CrossRecipe.for_mode(fast)
    fit = sorted(q for q in fit_qids if q in dataset_train.qrels)
    val = sorted(q for q in val_qids if q in dataset_train.qrels)
    if not fit or not val:
        raise ValueError(f"finetuned_cross: {len(fit)} fit and {len(val)} validation queries are judged in "
                         f"{dataset_train.name}; need at least one of each")
    ids = lambda qs: hashlib.sha256("\0".join(qs).encode()).hexdigest()[:16]  # noqa: E731
    knobs = {**dataclasses.asdict(recipe), "fit": ids(fit), "val": ids(val), "negatives": negatives,
             "first_stage_k": FIRST_STAGE_K}
    if negatives == "hybrid":
        knobs["dense_max_length"] = 128 if fast else None

    def train(out: Path) -> None:
        runs = cross_first_stages(dataset_train, fit + val, fast, dense=negatives == "hybrid")
        trained = cross_recipe.train_monobert(dataset_train, runs[negatives], fit, val, recipe, val_run=runs["bm25"],
                                              progress=progress)
        trained.model.save(out)
        with atomic_write(out / "training.json") as handle:
            json.dump({"recipe": dataclasses.asdict(recipe), "negatives": negatives, "n_weak": trained.n_weak,
                       "n_claims": trained.n_claims, "seconds": trained.train_seconds, "weak_seconds": trained.weak_seconds,
                       "val_curve": trained.val_curve, "pairs_seen": trained.pairs_seen,
                       "steps": sum(1 for h in trained.history if "loss" in h), "history": trained.history},
                      handle, indent=1, default=str)

    return _cached("cross", dataset_train, knobs, train)


def workbook_cross(dataset_train: Dataset, fit_qids: list[str], val_qids: list[str], fast: bool | None = None,
                   device: str | None = None, progress: bool = False) -> Path:
    """The cross-encoder that notebooks 15, 20, 22 and 23 share, trained once (by whichever runs first) and cached.

    ``CrossRecipe.for_mode(fast, device)`` with hybrid negatives: on a CPU the pooled laptop recipe
    that notebook 15 measures against BM25 (``PooledCrossEncoder``: 800 weak title lists, then each
    fit claim with 3 negatives, one epoch at 128 tokens), on a GPU the monoBERT [CLS] recipe of
    ``bench/bench_cross.py``, in fast mode its CI-sized version (6 steps: it runs every cell, it does
    not train). The folder is :func:`finetuned_cross`'s; load it with :func:`load_cross`.
    """
    from lessonlib.cross import recipe as cross_recipe  # deferred: pulls in torch

    fast = config.is_fast() if fast is None else fast
    return finetuned_cross(dataset_train, fit_qids, val_qids, cross_recipe.CrossRecipe.for_mode(fast, device),
                           progress=progress, negatives="hybrid", fast=fast)


def load_cross(model_dir: str | os.PathLike, device: str | None = None):
    """The cross-encoder saved by :func:`finetuned_cross` (a ``CrossEncoder`` or, for ``scoring="pooled"``,
    a ``PooledCrossEncoder``), scoring with the token limit of its recipe."""
    from lessonlib.cross import CrossEncoder  # deferred: pulls in torch

    recipe = json.loads((Path(model_dir) / "training.json").read_text())["recipe"]
    return CrossEncoder.load(model_dir, max_length=int(recipe["max_length"]), overflow="truncate", device=device)
