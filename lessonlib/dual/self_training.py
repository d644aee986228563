"""Self-training a dual encoder on cross-encoder pseudo-labels of unlabelled queries.

The loop (Yarowsky 1995; Xie et al. 2020, noisy student; for retrieval, RocketQA's denoised
pseudo-labels, Qu et al. 2021, and GPL, Wang et al. 2022)::

    for each unlabelled query q:
        C_q   = BM25 top-k of q                                  (candidates)
        d*_q  = argmax_{d ∈ C_q} CE(q, d),  s_q = CE(q, d*_q)    (the teacher's best guess)
    keep (q, d*_q) as a positive iff s_q ≥ θ                     (confidence threshold)
    train the dual encoder on gold pairs ∪ kept pseudo pairs

θ is chosen on *validation* queries whose labels are known (:func:`choose_threshold`): the lowest
score whose kept pseudo-labels reach ``min_precision`` against gold. Taught in notebook 04.

>>> roles = claim_roles(train.qrels, hidden=0.3, val=0.15, seed=0)                 # doctest: +SKIP
>>> labels = pseudo_labels(train, roles["hidden"], ce, bm25_run, k=10)              # doctest: +SKIP
>>> theta = choose_threshold(pseudo_labels(train, roles["val"], ce, bm25_run), train.qrels)  # doctest: +SKIP
>>> mixed = with_pseudo_labels(train, roles["gold"], labels, theta)                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from lessonlib.core.runs import Run, ranked
from lessonlib.data import Dataset


class PseudoLabel(NamedTuple):
    """The teacher's best candidate for one query and its score."""

    doc_id: str
    score: float


def claim_roles(qids: Iterable[str], hidden: float = 0.3, val: float = 0.15, seed: int = 0) -> dict[str, list[str]]:
    """Split labelled query ids into ``gold`` (labels used), ``val`` (labels used to pick θ only) and
    ``hidden`` (labels hidden from training: the "unlabelled" queries; kept only to measure precision).

    Seeded permutation of the sorted ids; each part sorted. Raises if a part would be empty.
    """
    ids = sorted(qids)
    if not (0 < hidden < 1 and 0 < val < 1 and hidden + val < 1):
        raise ValueError(f"claim_roles(hidden={hidden}, val={val}): expected two fractions in (0, 1) summing below 1")
    order = np.random.default_rng(seed).permutation(len(ids))
    n_hidden, n_val = round(hidden * len(ids)), round(val * len(ids))
    parts = {"hidden": order[:n_hidden], "val": order[n_hidden:n_hidden + n_val], "gold": order[n_hidden + n_val:]}
    if any(len(p) == 0 for p in parts.values()):
        raise ValueError(f"claim_roles: {len(ids)} queries are too few for hidden={hidden}, val={val}")
    return {name: sorted(ids[i] for i in idx) for name, idx in parts.items()}


def pseudo_labels(dataset: Dataset, qids: Sequence[str], teacher, candidates: Run, k: int = 10) -> dict[str, PseudoLabel]:
    """The teacher's top document among the first ``k`` candidates of each query, with its score.

    ``teacher`` is a :class:`lessonlib.dual.distill.PairTeacher` (e.g. ``CrossEncoderTeacher``; scores
    are cached there); ``candidates`` a run (e.g. BM25's). Candidates are taken in the run's order
    (score descending, then doc id descending); ties in the teacher's score keep that order. A query
    without candidates gets no label.
    """
    if k < 1:
        raise ValueError(f"pseudo_labels(k={k}): k must be >= 1")
    out: dict[str, PseudoLabel] = {}
    for q in qids:
        docs = [d for d, _ in ranked(candidates.get(q, {}), k) if d in dataset.corpus]
        if not docs:
            continue
        scores = teacher.scores(dataset, [q], [docs])[0]
        best = int(np.argmax(scores))
        out[q] = PseudoLabel(docs[best], float(scores[best]))
    return out


def label_precision(labels: Mapping[str, PseudoLabel], qrels: Mapping[str, Mapping[str, int]], threshold: float = -np.inf) -> tuple[float, int]:
    """(precision, count) of the pseudo-labels with score ≥ ``threshold``: the share whose document is
    judged relevant (grade > 0) in ``qrels``. Precision is NaN when nothing is kept."""
    kept = [q for q, lab in labels.items() if lab.score >= threshold]
    if not kept:
        return float("nan"), 0
    hits = sum(qrels.get(q, {}).get(labels[q].doc_id, 0) > 0 for q in kept)
    return hits / len(kept), len(kept)


def choose_threshold(val_labels: Mapping[str, PseudoLabel], qrels: Mapping[str, Mapping[str, int]], min_precision: float = 0.7) -> float:
    """θ: the lowest teacher score at which the kept validation pseudo-labels reach ``min_precision``.

    Scans the validation labels' scores from high to low; returns the smallest score whose kept set
    (score ≥ it) has precision ≥ ``min_precision`` against ``qrels``. If no kept set reaches it,
    returns +inf (keep no pseudo-label: the teacher is not trusted).
    """
    if not 0 < min_precision <= 1:
        raise ValueError(f"choose_threshold(min_precision={min_precision}): expected 0 < min_precision <= 1")
    if not val_labels:
        raise ValueError("choose_threshold(val_labels={}): need validation pseudo-labels")
    best = float("inf")
    for s in sorted({lab.score for lab in val_labels.values()}, reverse=True):
        precision, _ = label_precision(val_labels, qrels, s)
        if precision >= min_precision:
            best = s
    return best


def with_pseudo_labels(dataset: Dataset, gold_qids: Iterable[str], labels: Mapping[str, PseudoLabel] | None = None,
                       threshold: float = -np.inf) -> Dataset:
    """A training dataset: the gold queries with their own qrels, plus every pseudo-labelled query whose
    score is ≥ ``threshold`` with its pseudo-positive as the only relevant document (grade 1)."""
    gold = [q for q in gold_qids if q in dataset.queries]
    if not gold:
        raise ValueError(f"with_pseudo_labels: none of the gold query ids is a query of {dataset.name!r}")
    qrels = {q: dict(dataset.qrels.get(q, {})) for q in gold}
    for q, lab in (labels or {}).items():
        if lab.score >= threshold and q not in qrels:
            qrels[q] = {lab.doc_id: 1}
    queries = {q: dataset.queries[q] for q in qrels}
    meta = {**dataset.meta, "pseudo_labels": sum(q not in set(gold) for q in qrels)}
    return Dataset(dataset.name, dataset.corpus, queries, qrels, dataset.split, meta)
