"""Cached "get or train" recipes that notebooks call: train once, then reuse the saved folder.

Each function builds a key from the dataset (name, split, its query and document ids) and every
training knob, and keeps the trained model in ``config.cache_dir("models", key)``. A second call
with the same arguments returns the folder at once, so a notebook re-run costs nothing.

Three sizes of the same recipe:

* ``FAST``: a few dozen optimizer steps on the fast-mode subset (CI, ``LESSONLIB_FAST=1``);
* ``CPU``: full SciFact train, BM25 negatives, 128 document tokens while training, 2 epochs;
* ``GPU``: the recipe chosen on the validation split (bench/bench_dual.py), a few minutes at most.

>>> path = finetuned_dual(course_dataset("train"))          # doctest: +SKIP
>>> model = DualEncoder.load(path)                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lessonlib import config
from lessonlib.data import Dataset

FAST: dict[str, Any] = dict(
    negatives="bm25", n_negatives=1, epochs=1, max_steps=24, batch_size=16, lr=5e-5,
    max_length=256, train_max_length=96, query_max_length=48, warmup=0.1,
)  # fmt: skip
CPU: dict[str, Any] = dict(
    negatives="bm25", n_negatives=1, epochs=2, batch_size=32, lr=3e-5, max_length=256, train_max_length=128,
)  # fmt: skip
GPU: dict[str, Any] = dict(
    negatives="dynamic", n_negatives=3, skip_top=3, depth=30, epochs=8, batch_size=32, lr=2e-5, max_length=256,
)  # fmt: skip


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


def recipe_for(fast: bool | None = None, device: str | None = None) -> dict[str, Any]:
    """The knobs of the default fine-tuning recipe for this mode and device."""
    fast = config.is_fast() if fast is None else fast
    if fast:
        return dict(FAST)
    return dict(GPU if config.device(device) == "cuda" else CPU)


def cache_key(kind: str, dataset: Dataset, knobs: dict[str, Any]) -> str:
    """``kind-<hash>`` of the dataset fingerprint and the knobs (sorted JSON)."""
    from lessonlib import __version__

    blob = json.dumps({"data": dataset_fingerprint(dataset), "knobs": knobs, "v": __version__}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _cached(kind: str, dataset: Dataset, knobs: dict[str, Any], train) -> Path:
    folder = config.cache_dir("models") / cache_key(kind, dataset, knobs)
    if (folder / "training.json").exists():
        return folder
    train(folder)
    return folder


def finetuned_dual(dataset_train: Dataset, fast: bool | None = None, model_name: str = config.DEFAULT_MODEL, **overrides: Any) -> Path:
    """The folder of a dual encoder fine-tuned on ``dataset_train`` (trained on the first call).

    ``overrides`` replace knobs of :func:`recipe_for` (e.g. ``negatives="dense"``); they are part
    of the cache key. The folder loads with ``DualEncoder.load`` and ``SentenceTransformer``.
    """
    from lessonlib.dual_training import train_dual

    knobs = {**recipe_for(fast), **overrides, "model_name": str(model_name)}
    return _cached("dual", dataset_train, knobs, lambda out: train_dual(dataset_train, out_dir=out, **knobs))


def training_history(model_dir: str | os.PathLike) -> list[dict]:
    """The history list saved by :func:`lessonlib.dual_training.train_dual` in ``training.json``."""
    return json.loads((Path(model_dir) / "training.json").read_text())["history"]


def distilled_dual(dataset_train: Dataset, teacher: str = "bi-encoder-512", fast: bool | None = None, **overrides: Any) -> Path:
    """A dual encoder distilled from a teacher (see :func:`lessonlib.distill.train_distilled`), cached."""
    from lessonlib.distill import train_distilled

    knobs = {**recipe_for(fast), **overrides, "teacher": teacher}
    return _cached("distilled", dataset_train, knobs, lambda out: train_distilled(dataset_train, out_dir=out, **knobs))
