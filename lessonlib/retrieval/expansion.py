"""Query expansion by pseudo-relevance feedback: RM3 on top of BM25.

RM1 (Lavrenko & Croft 2001, "Relevance-based language models") estimates a *relevance model*
from the top ``fb_docs`` documents D of a first retrieval, weighting each by its retrieval score::

    P(w | R) ∝ sum_{d in D} P(d | q) * tf(w, d) / |d|          P(d | q) = s(d) / sum_{d'} s(d')

keeps its ``fb_terms`` heaviest terms (renormalised), and RM3 (Abdul-Jaleel et al. 2004, UMass at
TREC 2004) mixes it with the query's own term distribution::

    P'(w | q) = orig_weight * tf(w, q) / |q|  +  (1 - orig_weight) * P(w | R)

The expanded query is searched with BM25 weights (:func:`rm3_run`: score(d) = sum_w P'(w|q) *
W[w, d], with W the per-term BM25 contributions of :class:`lessonlib.retrieval.bm25.BM25`), or its
new terms are appended to the query text (:func:`expand_text`) for a model that reads text, such
as a cross-encoder (notebook 15, section 5). Terms are BM25's stems; each is shown by its most
frequent surface word in the feedback documents. Defaults are Anserini's (10 documents, 10 terms,
original weight 0.5).

>>> bm25 = BM25().fit(texts, ids)                                             # doctest: +SKIP
>>> models = rm3(bm25, queries, bm25_run, fb_docs=10, fb_terms=10)            # doctest: +SKIP
>>> run = rm3_run(bm25, models, k=100)                                        # doctest: +SKIP
>>> expand_text(queries["q1"], models["q1"], n_terms=5)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from lessonlib.core.runs import Run, hits_to_run, rank_documents, topk
from lessonlib.retrieval.bm25 import BM25


@dataclass(frozen=True)
class QueryModel:
    """An expanded query: stem -> weight P'(w|q) (sums to 1), the stem's surface word, and the query's own stems."""

    weights: dict[str, float]
    surface: dict[str, str]
    original: frozenset[str]

    def new_terms(self, n: int) -> list[str]:
        """The ``n`` heaviest feedback terms that are not in the query, as surface words (weight desc, then word).

        Terms of weight 0 are not feedback terms (``orig_weight=1`` gives every one weight 0): none come back."""
        cands = sorted(((w, s) for s, w in self.weights.items() if s not in self.original and w > 0),
                       key=lambda x: (-x[0], self.surface[x[1]]))
        return [self.surface[s] for _, s in cands[:n]]


def _check(fb_docs: int, fb_terms: int, orig_weight: float) -> None:
    if fb_docs < 1:
        raise ValueError(f"rm3(fb_docs={fb_docs}): must be >= 1")
    if fb_terms < 1:
        raise ValueError(f"rm3(fb_terms={fb_terms}): must be >= 1")
    if not 0.0 <= orig_weight <= 1.0:
        raise ValueError(f"rm3(orig_weight={orig_weight}): must be in [0, 1]")


def rm3(bm25: BM25, queries: Mapping[str, str], run: Run, doc_texts: Mapping[str, str] | None = None,
        fb_docs: int = 10, fb_terms: int = 10, orig_weight: float = 0.5) -> dict[str, QueryModel]:
    """RM3 query models (module docstring) for every query of ``queries`` that has a ranking in ``run``.

    Args:
        bm25: a fitted :class:`BM25` (its tokenizer defines the terms; ``doc_texts`` default to
            nothing, so give the texts of the run's documents, e.g. ``{d: ds.doc_text(d)}``).
        queries: qid -> text; run: qid -> {doc id: score} (the first retrieval, usually BM25's).
        fb_docs, fb_terms, orig_weight: feedback depth, terms kept, weight of the original query.

    A query with no feedback document keeps its own model; scores <= 0 give a document no weight
    (all <= 0: uniform weights).
    """
    _check(fb_docs, fb_terms, orig_weight)
    if doc_texts is None:
        raise ValueError("rm3(doc_texts=None): give the texts of the run's documents (doc id -> text)")
    tok = bm25.tokenizer
    out: dict[str, QueryModel] = {}
    for qid, text in queries.items():
        q_words = tok.words(text)
        q_stems = Counter(tok.stem(w) for w in q_words)
        surface: dict[str, Counter] = {}
        for w in q_words:
            surface.setdefault(tok.stem(w), Counter())[w] += 1
        docs = [d for d in rank_documents(run.get(qid, {}), fb_docs) if d in doc_texts]
        fb: Counter = Counter()
        if docs:
            s = np.maximum(np.array([run[qid][d] for d in docs], dtype=np.float64), 0.0)
            prior = s / s.sum() if s.sum() > 0 else np.full(len(docs), 1.0 / len(docs))
            for d, p in zip(docs, prior):
                words = tok.words(doc_texts[d])
                if not words or p == 0:
                    continue
                stems = [tok.stem(w) for w in words]
                for w, st in zip(words, stems):
                    surface.setdefault(st, Counter())[w] += 1
                for st, c in Counter(stems).items():
                    fb[st] += p * c / len(stems)
        top = sorted(fb.items(), key=lambda kv: (-kv[1], kv[0]))[:fb_terms]
        z = sum(v for _, v in top)
        n_q = sum(q_stems.values())
        weights: dict[str, float] = {}
        for st, c in q_stems.items():
            weights[st] = weights.get(st, 0.0) + (orig_weight if top else 1.0) * c / n_q
        for st, v in top:
            weights[st] = weights.get(st, 0.0) + (1.0 - orig_weight) * v / z
        total = sum(weights.values())
        weights = {k: v / total for k, v in weights.items()} if total > 0 else weights
        out[qid] = QueryModel(weights, {st: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for st, c in surface.items()
                                        if st in weights}, frozenset(q_stems))
    return out


def rm3_run(bm25: BM25, models: Mapping[str, QueryModel], k: int = 100) -> Run:
    """BM25 retrieval with weighted query terms: score(d) = sum_w P'(w|q) * W[w, d]; top ``k`` per query.

    With ``orig_weight=1`` this ranks exactly as BM25 on the query (up to the 1/|q| factor, which
    no ranking sees). Stems missing from the index are dropped; a query left with none gets no hits.
    """
    if not hasattr(bm25, "weights_"):
        raise ValueError("rm3_run: the BM25 index is not fitted (call fit first)")
    if k < 1:
        raise ValueError(f"rm3_run(k={k}): k must be >= 1")
    qids = list(models)
    rows, cols, vals = [], [], []
    for i, q in enumerate(qids):
        for st, w in models[q].weights.items():
            c = bm25.vocab_.get(st)
            if c is not None and w > 0:
                rows.append(i), cols.append(c), vals.append(w)
    Q = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(qids), len(bm25.vocab_)))
    dense = (Q @ bm25.weights_).toarray()
    scores, idx = topk(dense, min(k, dense.shape[1]))
    idx = np.where(scores > 0, idx, -1)
    return hits_to_run(qids, bm25.doc_ids_, np.where(idx >= 0, scores, 0), idx)


def expand_text(query: str, model: QueryModel, n_terms: int = 5) -> str:
    """``query`` followed by the ``n_terms`` heaviest feedback words not already in it (a text for a cross-encoder)."""
    if n_terms < 0:
        raise ValueError(f"expand_text(n_terms={n_terms}): must be >= 0")
    extra = model.new_terms(n_terms)
    return " ".join([query, *extra]) if extra else query


def expanded_queries(queries: Mapping[str, str], models: Mapping[str, QueryModel], n_terms: int = 5,
                     qids: Sequence[str] | None = None) -> dict[str, str]:
    """qid -> :func:`expand_text` for every query (those without a model stay as they are)."""
    qids = list(queries) if qids is None else list(qids)
    return {q: expand_text(queries[q], models[q], n_terms) if q in models else queries[q] for q in qids}
