"""Exercise 5 (11_evaluation §5.1): nDCG@k, exactly as trec_eval."""

from __future__ import annotations

import math

from lessonlib.core.runs import rank_documents, ranked, truncate
from lessonlib.evaluation import metrics
from lessonlib.workbook.checks.cases import metric_cases, trec
from lessonlib.workbook.checks.cases import tie_order as order
from lessonlib.workbook.checks.core import ExerciseCheck, register

# evaluate and the functions that compute its measures (the same numbers by another door)
METRIC_BLOCKS = (metrics.evaluate, metrics.ndcg10, metrics.per_query_array, metrics._ranked_grades, metrics._ideal_grades,
                 metrics._compute, metrics._dcg, rank_documents, ranked, truncate)


def _dcg(grades) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(grades) if g > 0)


def _ndcg(qrels, run, k, descending_ids=True, ideal_from_run=False, log_base_rank=False, binary=False):
    top = order(run, descending_ids)[:k]
    gain = (lambda g: min(g, 1)) if binary else (lambda g: g)
    grades = [gain(max(qrels.get(d, 0), 0)) for d in top]
    pool = [qrels.get(d, 0) for d in run] if ideal_from_run else list(qrels.values())
    ideal = sorted((gain(g) for g in pool if g > 0), reverse=True)[:k]
    if log_base_rank:
        dcg = sum(g / math.log2(i) if i > 1 else g for i, g in enumerate(grades, 1))
        idcg = sum(g / math.log2(i) if i > 1 else g for i, g in enumerate(ideal, 1))
    else:
        dcg, idcg = _dcg(grades), _dcg(ideal)
    return dcg / idcg if idcg > 0 else 0.0


def wrong_ties_ascending(qrels, run, k):
    return _ndcg(qrels, run, k, descending_ids=False)


def wrong_ideal_from_retrieved(qrels, run, k):
    return _ndcg(qrels, run, k, ideal_from_run=True)


def wrong_discount(qrels, run, k):
    return _ndcg(qrels, run, k, log_base_rank=True)


def wrong_binary_gain(qrels, run, k):
    return _ndcg(qrels, run, k, binary=True)


register(ExerciseCheck(
    id="ndcg_at_k", title="nDCG@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=metric_cases, reference=trec("ndcg"),
    hint="rank by score descending and break ties by doc id DESCENDING (trec_eval); gain = grade, "
         "discount = log2(rank + 1); the ideal DCG uses all judged grades, not only retrieved ones.",
    wrong={
        "you broke ties by doc id ascending; trec_eval breaks them DESCENDING.": wrong_ties_ascending,
        "the ideal DCG sorts ALL judged grades of the query, retrieved or not (you used only the retrieved ones).":
            wrong_ideal_from_retrieved,
        "the discount of rank i (from 1) is log2(i + 1): rank 2 is divided by log2(3), not by log2(2) = 1.": wrong_discount,
        "the gain is the grade itself (2 counts twice as much as 1), not 1 for every relevant document.": wrong_binary_gain,
    },
    blocks=METRIC_BLOCKS,
    atol=1e-9,
))
