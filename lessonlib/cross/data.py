"""Training examples for a cross-encoder: lists of one query, one positive and n negatives.

A ``Group`` is what one listwise loss term sees: ``docs[0]`` is a relevant document and
``docs[1:]`` are negatives; ``labels`` are their grades (the positive's grade, then zeros);
``teacher`` optionally holds a teacher's scores for distillation.

Where negatives come from (Nogueira & Cho 2019 used BM25; Gao et al. 2021 "Rethink training of
BERT rerankers" showed that hard negatives from the retriever being re-ranked matter):

* ``groups_from_run``: negatives sampled from the top ``depth`` of a first-stage run (BM25,
  dense, or several runs merged), skipping judged-relevant documents;
* ``weak_title_groups``: weak supervision, a document's title is the query and its own abstract
  the positive (negatives: BM25 by title), the "title -> body" pairs of Chang et al. 2020;
* ``inverse_cloze_groups``: a random sentence is the query and the rest of its abstract the
  positive (Inverse Cloze Task, Lee et al. 2019).

>>> groups = groups_from_run(ds, bm25_run(ds, ds.queries, k=30), n_negatives=7, seed=0)
>>> groups[0].docs[0] in [ds.doc_text(d) for d in ds.qrels[groups[0].qid]]
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lessonlib.retrieval.fusion import rrf
from lessonlib.core.runs import hits_to_run, rank_documents


@dataclass
class Group:
    """One training list: ``docs[0]`` relevant, the rest negatives; grades in ``labels``."""

    qid: str
    query: str
    docs: list[str]
    labels: list[float]
    teacher: list[float] | None = None
    meta: dict = field(default_factory=dict)


def bm25_run(corpus: Mapping[str, dict] | object, queries: Mapping[str, str], k: int = 100,
             texts: Mapping[str, str] | None = None) -> dict[str, dict[str, float]]:
    """BM25 top-``k`` run with :class:`lessonlib.retrieval.bm25.BM25` (Lucene BM25, k1=1.5, b=0.75, English
    stop words, Snowball stemmer: bm25s's tokenization, equal to bm25s on SciFact in tests/test_sparse.py).

    ``corpus`` is a Dataset or a BEIR corpus dict; ``texts`` (doc id -> text) overrides the texts.
    Queries that are empty or hold only stop words get an empty ranking.
    """
    from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

    if texts is None:
        corpus_dict = getattr(corpus, "corpus", corpus)
        texts = {d: f"{v.get('title', '')} {v.get('text', '')}".strip() for d, v in corpus_dict.items()}
    doc_ids = list(texts)
    index = BM25().fit([texts[d] for d in doc_ids], doc_ids)
    qids = [q for q in queries if queries[q].strip()]
    run: dict[str, dict[str, float]] = {q: {} for q in queries}
    if qids:
        scores, idx = index.search([queries[q] for q in qids], k=min(k, len(doc_ids)))
        run.update(hits_to_run(qids, doc_ids, scores, idx))
    return run


def merge_runs(*runs: Mapping[str, Mapping[str, float]], k: int = 60) -> dict[str, dict[str, float]]:
    """Reciprocal rank fusion, score(d) = sum_r 1 / (k + rank_r(d)) (Cormack et al. 2009), of the
    runs given as arguments: :func:`lessonlib.retrieval.fusion.rrf` (trec_eval's tie order)."""
    return rrf(list(runs), k=k)


def groups_from_run(
    ds,
    run: Mapping[str, Mapping[str, float]],
    n_negatives: int = 7,
    depth: int = 30,
    seed: int = 0,
    queries: Mapping[str, str] | None = None,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Group]:
    """One group per (query, relevant doc): the positive + ``n_negatives`` drawn from the run's top ``depth``.

    Judged-relevant documents are never negatives. If the run has too few, random corpus documents
    fill the list so that every group has 1 + n_negatives documents.
    """
    if n_negatives < 1:
        raise ValueError(f"groups_from_run(n_negatives={n_negatives}): must be >= 1")
    queries = queries if queries is not None else ds.queries
    qrels = qrels if qrels is not None else ds.qrels
    rng = np.random.default_rng(seed)
    all_ids = ds.doc_ids
    groups = []
    for qid in sorted(qrels):
        positives = [d for d, g in qrels[qid].items() if g > 0 and d in ds.corpus]
        if not positives or qid not in queries:
            continue
        pool = [d for d in rank_documents(run.get(qid, {}), depth) if qrels[qid].get(d, 0) <= 0]
        for pos in positives:
            if len(pool) >= n_negatives:
                negs = list(rng.choice(pool, size=n_negatives, replace=False))
            else:
                negs = list(pool)
                while len(negs) < n_negatives:
                    d = all_ids[int(rng.integers(len(all_ids)))]
                    if d not in negs and qrels[qid].get(d, 0) <= 0:
                        negs.append(d)
            docs = [pos] + negs
            groups.append(Group(qid, queries[qid], [ds.doc_text(d) for d in docs],
                                [float(qrels[qid][pos])] + [0.0] * n_negatives, meta={"doc_ids": docs}))
    return groups


def weak_title_groups(ds, n_negatives: int = 7, depth: int = 30, seed: int = 0,
                      max_docs: int | None = None) -> list[Group]:
    """Title -> own abstract; negatives: other abstracts that BM25 ranks high for the title."""
    rng = np.random.default_rng(seed)
    ids = [d for d in ds.doc_ids if ds.corpus[d].get("title", "").strip() and ds.corpus[d].get("text", "").strip()]
    if max_docs is not None and len(ids) > max_docs:
        ids = sorted(rng.choice(ids, size=max_docs, replace=False).tolist())
    titles = {d: ds.corpus[d]["title"] for d in ids}
    abstracts = {d: ds.corpus[d]["text"] for d in ds.doc_ids if ds.corpus[d].get("text", "").strip()}
    run = bm25_run(None, titles, k=depth + 1, texts=abstracts)
    groups = []
    for d in ids:
        pool = [x for x in rank_documents(run[d]) if x != d][:depth]
        if len(pool) < n_negatives:
            continue
        negs = list(rng.choice(pool, size=n_negatives, replace=False))
        groups.append(Group(f"title:{d}", titles[d], [abstracts[d]] + [abstracts[x] for x in negs],
                            [1.0] + [0.0] * n_negatives, meta={"doc_ids": [d] + negs}))
    return groups


_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def inverse_cloze_groups(ds, n_negatives: int = 7, depth: int = 30, seed: int = 0,
                         max_docs: int | None = None, keep_sentence: float = 0.1) -> list[Group]:
    """ICT: a random sentence is the query, the rest of its abstract the positive (kept whole with
    probability ``keep_sentence``, as Lee et al. 2019 do); negatives: BM25 by that sentence."""
    rng = np.random.default_rng(seed)
    ids = list(ds.doc_ids)
    if max_docs is not None and len(ids) > max_docs:
        ids = sorted(rng.choice(ids, size=max_docs, replace=False).tolist())
    queries, positives = {}, {}
    for d in ids:
        sents = [s for s in _SENT.split(ds.corpus[d].get("text", "")) if len(s.split()) >= 5]
        if len(sents) < 3:
            continue
        i = int(rng.integers(len(sents)))
        queries[d] = sents[i]
        rest = sents if rng.random() < keep_sentence else sents[:i] + sents[i + 1:]
        positives[d] = (ds.corpus[d].get("title", "") + " " + " ".join(rest)).strip()
    run = bm25_run(ds, queries, k=depth + 1)
    groups = []
    for d, q in queries.items():
        pool = [x for x in rank_documents(run[d]) if x != d][:depth]
        if len(pool) < n_negatives:
            continue
        negs = list(rng.choice(pool, size=n_negatives, replace=False))
        groups.append(Group(f"ict:{d}", q, [positives[d]] + [ds.doc_text(x) for x in negs],
                            [1.0] + [0.0] * n_negatives, meta={"doc_ids": [d] + negs}))
    return groups


def subset_qrels(qrels: Mapping[str, Mapping[str, int]], qids: Sequence[str]) -> dict[str, dict[str, int]]:
    """The qrels of the given queries only."""
    return {q: dict(qrels[q]) for q in qids if q in qrels}


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of ``batch_size`` over items sorted by length, longest first."""
    if batch_size < 1:
        raise ValueError(f"length_sorted_batches(batch_size={batch_size}): must be >= 1")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
