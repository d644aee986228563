"""Exercise 17 (22_hybrid_systems, Day 10.2 §2.3, §5.2): adaptive re-ranking, only where the first stage is unsure."""

from __future__ import annotations

from typing import Any

import numpy as np

from lessonlib.retrieval import adaptive
from lessonlib.retrieval.cascade import route, score_margin
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def adaptive_rerank_policy(run: dict[str, dict[str, float]], threshold: float, k: int) -> dict[str, Any]:
    """Re-rank a query only when the first stage is unsure: top-1 minus top-2 score < ``threshold``.

    A large gap between the first stage's two best scores means its top document is clear and a
    cross-encoder is unlikely to change the first place; a small gap (or a tie) means it may. A
    query with fewer than 2 documents has nothing to reorder and is never re-ranked. The cost is
    the number of cross-encoder calls: min(k, |docs|) per re-ranked query. (The idea of query
    performance prediction / selective re-ranking for cost: e.g. Culpepper, Clarke & Lin 2016,
    "Dynamic cutoff prediction in multi-stage retrieval systems".)

    The library's policy, which notebook 22 uses: ``lessonlib.retrieval.adaptive.adaptive_rerank``.

    Returns ``{"rerank": {qid: bool}, "cost": int}``.
    """
    return adaptive.adaptive_rerank(run, threshold, k)


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n_queries, threshold, k, ties, name in [(1, 0.5, 10, False, "one query"), (5, 0.3, 10, False, "5 queries"),
                                                (8, 0.1, 5, False, "k smaller than most lists"), (6, 1.0, 100, True, "tied scores, k = 100"),
                                                (10, 0.0, 10, False, "threshold 0: nothing is re-ranked"),
                                                (4, float("inf"), 3, False, "threshold inf: every query with 2+ documents")]:
        run = {}
        for qi in range(n_queries):
            n_docs = int(rng.integers(2, 15))
            scores = rng.integers(0, 4, n_docs).astype(float) if ties else np.round(rng.gamma(2.0, 2.0, n_docs), 3)
            run[f"q{qi}"] = {f"d{j}": float(s) for j, s in enumerate(scores)}
        out.append(Case(name, {"run": run, "threshold": threshold, "k": k}))
    out.append(Case("one document, no document, a tie", {"run": {"q1": {"a": 5.0}, "q2": {}, "q3": {"a": 2.0, "b": 2.0}}, "threshold": 0.5, "k": 10}))
    out.append(Case("margin exactly at the threshold (strict <)", {"run": {"q1": {"a": 3.0, "b": 2.5, "c": 0.0}}, "threshold": 0.5, "k": 10}))
    out.append(Case("no queries", {"run": {}, "threshold": 0.5, "k": 10}))
    return out


def _policy(run, threshold, k, strict=True, short_lists=False, margin_of_last=False, cost_k=False):
    decisions = {}
    for q, docs in run.items():
        s = sorted(docs.values(), reverse=True)
        if len(s) < 2:
            decisions[q] = short_lists
            continue
        margin = s[0] - s[-1] if margin_of_last else s[0] - s[1]
        decisions[q] = margin < threshold if strict else margin <= threshold
    cost = sum((k if cost_k else min(k, len(run[q]))) for q, d in decisions.items() if d)
    return {"rerank": decisions, "cost": cost}


def wrong_not_strict(run, threshold, k):
    return _policy(run, threshold, k, strict=False)


def wrong_cost_k_per_query(run, threshold, k):
    return _policy(run, threshold, k, cost_k=True)


def wrong_reranks_short_lists(run, threshold, k):
    return _policy(run, threshold, k, short_lists=True)


def wrong_best_minus_worst(run, threshold, k):
    return _policy(run, threshold, k, margin_of_last=True)


register(ExerciseCheck(
    id="adaptive_rerank", title="Adaptive re-ranking: rerank only where the first stage is unsure",
    practises="22_hybrid_systems — retrieve-then-rerank, adaptive re-ranking (Day 10.2 §2.3, §5.2)",
    cases=cases, reference=adaptive_rerank_policy,
    hint="margin = best score - second best score; rerank iff the query has >= 2 documents and margin < "
         "threshold (strictly); cost = sum over reranked queries of min(k, number of documents).",
    wrong={
        "re-rank iff margin < threshold STRICTLY (a margin equal to the threshold is confident enough).": wrong_not_strict,
        "a re-ranked query costs min(k, number of its documents) calls: a short list cannot cost k.": wrong_cost_k_per_query,
        "a query with fewer than 2 documents has nothing to reorder: never re-rank it.": wrong_reranks_short_lists,
        "the margin is best minus SECOND best, not best minus worst.": wrong_best_minus_worst,
    },
    blocks=(adaptive_rerank_policy, adaptive.adaptive_rerank, adaptive.rerank_cost, score_margin, route),
))
