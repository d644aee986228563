"""Retrieve, then re-rank: a cross-encoder re-scores the top ``k`` of a first-stage run.

``rerank`` replaces the first stage's scores by the cross-encoder's; ``interpolate_first_stage`` keeps both:

    s(q, d) = norm(s_CE)(q, d) + alpha * norm(s_first)(q, d)

with ``norm`` a per-query min-max or z-score normalisation, so that the two scales are
comparable (a linear fusion, e.g. Wang et al. 2021 "BERT-based dense retrievers require
interpolation with BM25"). ``alpha`` is chosen on a validation split (``choose_alpha``), never on
the test queries. ``rrf`` is the parameter-free alternative (Cormack et al. 2009).

>>> run2 = rerank(ce, ds, bm25, k=100)
>>> fused = interpolate_first_stage(run2, bm25, alpha=0.3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lessonlib.retrieval.fusion import interpolate
from lessonlib.evaluation.metrics import evaluate
from lessonlib.core.runs import Run, rank_documents
from lessonlib.core.scoring import Scorer


def _texts(data) -> tuple[Mapping[str, dict], Mapping[str, str]]:
    corpus = getattr(data, "corpus", None)
    queries = getattr(data, "queries", None)
    if corpus is None or queries is None:
        corpus, queries = data
    return corpus, queries


def _doc_text(corpus: Mapping[str, dict], doc_id: str) -> str:
    doc = corpus[doc_id]
    return f"{doc.get('title', '')} {doc.get('text', '')}".strip()


def check_run(run: Mapping[str, Mapping[str, float]], corpus: Mapping, queries: Mapping, name: str = "run") -> None:
    """Raise ``ValueError`` if the run names a query or a document the dataset does not have."""
    if not run:
        raise ValueError(f"rerank({name}={{}}): the run is empty")
    unknown_q = [q for q in run if q not in queries]
    if unknown_q:
        raise ValueError(f"rerank({name}): {len(unknown_q)} queries are not in the dataset, e.g. {unknown_q[0]!r}; "
                         "is the run from another split or collection?")
    for qid, docs in run.items():
        for d in docs:
            if d not in corpus:
                raise ValueError(f"rerank({name}): query {qid!r} names document {d!r}, which is not in the corpus; "
                                 "is the run from another collection?")


def rerank(model: Scorer, data, run: Mapping[str, Mapping[str, float]], k: int = 100, batch_size: int = 64,
           show_progress: bool = True) -> Run:
    """The top ``k`` of each query of ``run`` re-scored by ``model.score`` (any :class:`lessonlib.core.scoring.Scorer`: a ``CrossEncoder``...).

    ``data`` is a Dataset (``.corpus``, ``.queries``) or a ``(corpus, queries)`` pair. Documents below
    rank ``k`` are dropped. Returns a new run (query -> doc -> cross-encoder score).
    """
    if k < 1:
        raise ValueError(f"rerank(k={k}): k must be >= 1")
    corpus, queries = _texts(data)
    check_run(run, corpus, queries)
    out: Run = {}
    pairs, owners = [], []
    for qid, docs in run.items():
        for d in rank_documents(docs, k):
            pairs.append((queries[qid], _doc_text(corpus, d)))
            owners.append((qid, d))
    scores = model.score(pairs, batch_size=batch_size, show_progress=show_progress)
    for (qid, d), s in zip(owners, scores):
        out.setdefault(qid, {})[d] = float(s)
    return out


def interpolate_first_stage(second: Mapping[str, Mapping[str, float]], first: Mapping[str, Mapping[str, float]],
                            alpha: float, norm: str = "zscore") -> Run:
    """norm(second) + alpha * norm(first), over the documents of ``second`` (the re-ranked top k).

    :func:`lessonlib.retrieval.fusion.interpolate` with weights (1, alpha) that keeps the queries and
    documents of ``second``; each list is normalised per query (``"zscore"``, ``"minmax"`` or ``"none"``),
    and a document of ``second`` missing from ``first`` gets the first stage's normalised minimum.
    """
    return interpolate([second, first], [1.0, alpha], norm=norm, keep="first")


def choose_alpha(second: Mapping[str, Mapping[str, float]], first: Mapping[str, Mapping[str, float]],
                 qrels: Mapping[str, Mapping[str, int]], alphas: Sequence[float] = tuple(np.round(np.arange(0, 2.01, 0.1), 2)),
                 norm: str = "zscore", measure: str = "ndcg@10") -> tuple[float, dict[float, float]]:
    """The ``alpha`` of ``interpolate_first_stage`` that maximises ``measure`` on ``qrels`` (a VALIDATION split).

    Returns (best alpha, {alpha: value}); ties go to the smaller alpha.
    """
    curve = {float(a): evaluate(qrels, interpolate_first_stage(second, first, float(a), norm), [measure])[measure] for a in alphas}
    best = max(curve, key=lambda a: (curve[a], -a))
    return best, curve


def rerank_top_k(first: Mapping[str, Mapping[str, float]], second: Mapping[str, Mapping[str, float]],
                 k: int) -> Run:
    """The cascade a user sees: ``first``'s top ``k`` re-ordered by ``second``, the rest below in ``first``'s order.

    ``second`` holds the re-ranker's scores of (at least) the top ``k`` of each query of ``first``;
    a top-k document it lacks goes to the bottom of the top k. Ranks are trec_eval's (score
    descending, ties by doc id descending). Scores of the result are ``n - position`` (no ties).
    Shapes: runs in, a run with the documents of ``first`` out.

    >>> rerank_top_k({"q": {"a": 3.0, "b": 2.0, "c": 1.0}}, {"q": {"a": 0.1, "b": 0.9}}, k=2)
    {'q': {'b': 3.0, 'a': 2.0, 'c': 1.0}}
    """
    if k < 1:
        raise ValueError(f"rerank_top_k(k={k}): k must be >= 1")
    out: Run = {}
    for qid, docs in first.items():
        ranked = rank_documents(docs)
        s2 = second.get(qid, {})
        top = sorted(ranked[:k], key=lambda d: (s2.get(d, -np.inf), d), reverse=True)
        order = top + ranked[k:]
        n = len(order)
        out[qid] = {d: float(n - i) for i, d in enumerate(order)}
    return out
