"""Models the notebooks share, trained once and cached: "get or train", then reuse the saved folder.

Each function builds a key from the dataset (name, split, its query and document ids) and every
training knob, and keeps the trained model in ``config.cache_dir("models", key)``. A second call
with the same arguments returns the folder at once, so a notebook re-run costs nothing. The knobs
come from the recipes' sizes by mode and device (``DualRecipe.for_mode()``, ``CrossRecipe.for_mode()``;
:mod:`lessonlib.core.recipe`). Used by notebooks 03, 04, 08, 20, 22 and 23.

>>> path = finetuned_dual(course_dataset("train"))          # doctest: +SKIP
>>> model = DualEncoder.load(path)                          # doctest: +SKIP
"""

from __future__ import annotations

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
def finetuned_cross(dataset_train: Dataset, fit_qids: list[str], val_qids: list[str], recipe=None,
                    progress: bool = False) -> Path:
    """The folder of a monoBERT cross-encoder trained by ``lessonlib.cross.recipe.train_monobert`` (cached).

    Negatives come from BM25's ranking of the train claims (``lessonlib.retrieval.bm25.BM25``); only
    ``fit_qids`` train, ``val_qids`` pick the epoch (early stopping on BM25's top ``eval_k``).
    ``recipe`` is a ``lessonlib.cross.recipe.CrossRecipe`` (default ``recipe_for()``: FAST / CPU / GPU).
    The dataset, the recipe and both query lists make the cache key; the first call trains, later
    ones return the folder at once. Load it with :func:`load_cross` (it keeps the token limit).

    >>> fit_q, val_q = split_queries(train.qrels, fraction=0.15, seed=0)       # doctest: +SKIP
    >>> ce = load_cross(finetuned_cross(train, fit_q, val_q))                  # doctest: +SKIP
    """
    import dataclasses

    from lessonlib.cross import recipe as cross_recipe  # deferred: pulls in torch

    recipe = recipe or cross_recipe.CrossRecipe.for_mode()
    fit = sorted(q for q in fit_qids if q in dataset_train.qrels)
    val = sorted(q for q in val_qids if q in dataset_train.qrels)
    if not fit or not val:
        raise ValueError(f"finetuned_cross: {len(fit)} fit and {len(val)} validation queries are judged in "
                         f"{dataset_train.name}; need at least one of each")
    ids = lambda qs: hashlib.sha256("\0".join(qs).encode()).hexdigest()[:16]  # noqa: E731
    knobs = {**dataclasses.asdict(recipe), "fit": ids(fit), "val": ids(val), "negatives": "bm25"}

    def train(out: Path) -> None:
        from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

        queries = {q: dataset_train.queries[q] for q in fit + val}
        bm25 = BM25().retrieve(dataclasses.replace(dataset_train, queries=queries), k=max(recipe.neg_depth, recipe.eval_k))
        trained = cross_recipe.train_monobert(dataset_train, bm25, fit, val, recipe, progress=progress)
        trained.model.save(out)
        with atomic_write(out / "training.json") as handle:
            json.dump({"recipe": dataclasses.asdict(recipe), "n_weak": trained.n_weak, "n_claims": trained.n_claims,
                       "seconds": trained.train_seconds, "weak_seconds": trained.weak_seconds,
                       "val_curve": trained.val_curve, "pairs_seen": trained.pairs_seen,
                       "steps": sum(1 for h in trained.history if "loss" in h), "history": trained.history},
                      handle, indent=1, default=str)

    return _cached("cross", dataset_train, knobs, train)


def load_cross(model_dir: str | os.PathLike, device: str | None = None):
    """The cross-encoder saved by :func:`finetuned_cross` (a ``CrossEncoder`` or, for ``scoring="pooled"``,
    a ``PooledCrossEncoder``), scoring with the token limit of its recipe."""
    from lessonlib.cross import CrossEncoder  # deferred: pulls in torch

    recipe = json.loads((Path(model_dir) / "training.json").read_text())["recipe"]
    return CrossEncoder.load(model_dir, max_length=int(recipe["max_length"]), overflow="truncate", device=device)


def workbook_cross_recipe(eval_k: int, fast: bool | None = None, device: str | None = None):
    """The cross-encoder recipe that notebooks 22 and 23 share (so the second one finds the first's model).

    ``CrossRecipe.for_mode`` (FAST in fast mode, GPU on a GPU), re-sized to a notebook's
    budget on 2 cores, always with monoBERT's [CLS] scoring: in full mode on a CPU, 200 weak title
    lists instead of 800, 3 negatives instead of 7, 128 tokens; in fast mode no weak stage, 8 steps, 96 tokens (enough to run every
    cell, not to rank well). Validation (early stopping) re-ranks the top ``eval_k``.
    """
    from lessonlib.cross import recipe as cross_recipe  # deferred: pulls in torch

    recipe = cross_recipe.CrossRecipe.for_mode(fast, device)
    if recipe is cross_recipe.CrossRecipe.CPU:
        recipe = recipe.replace(weak_title_docs=200, n_negatives=3, max_length=128, eval_k=eval_k)
    elif recipe is cross_recipe.CrossRecipe.FAST:
        recipe = recipe.replace(weak_title_docs=0, max_steps=8, max_length=96, train_max_length=96, eval_k=eval_k,
                                val_queries=10)
    return recipe.replace(scoring="cls")  # a monoBERT [CLS] head: what notebooks 20, 22 and 23 measured
