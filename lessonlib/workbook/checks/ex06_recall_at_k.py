"""Exercise 6 (11_evaluation §5.1): Recall@k, exactly as trec_eval."""

from __future__ import annotations

from lessonlib.workbook.checks.cases import metric_cases, trec
from lessonlib.workbook.checks.cases import tie_order as order
from lessonlib.workbook.checks.core import ExerciseCheck, register
from lessonlib.workbook.checks.ex05_ndcg_recall import METRIC_BLOCKS


def _recall(qrels, run, k, descending_ids=True, only_retrieved=False, divide_by_k=False):
    top = order(run, descending_ids)[:k]
    relevant = {d for d, g in qrels.items() if g >= 1}
    if only_retrieved:
        relevant &= set(run)
    found = sum(d in relevant for d in top)
    if divide_by_k:
        return found / k
    return found / len(relevant) if relevant else 0.0


def wrong_precision(qrels, run, k):
    return _recall(qrels, run, k, divide_by_k=True)


def wrong_ties_ascending(qrels, run, k):
    return _recall(qrels, run, k, descending_ids=False)


def wrong_only_retrieved(qrels, run, k):
    return _recall(qrels, run, k, only_retrieved=True)


register(ExerciseCheck(
    id="recall_at_k", title="Recall@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=metric_cases, reference=trec("recall"),
    hint="relevant = grade >= 1; divide by ALL relevant documents in the qrels (retrieved or not); "
         "nothing relevant gives 0.",
    wrong={
        "you divided by k: that is precision@k. Recall divides by the number of relevant documents.": wrong_precision,
        "you broke ties by doc id ascending; trec_eval breaks them DESCENDING (it decides which tied documents "
        "fall inside the top k).": wrong_ties_ascending,
        "divide by ALL relevant documents of the qrels, also those the run never retrieved.": wrong_only_retrieved,
    },
    blocks=METRIC_BLOCKS,
    atol=1e-9,
))
