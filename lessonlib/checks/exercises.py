"""The exercises' hidden cases and their references in lessonlib (one ``register`` per exercise).

Each reference adapts the learner-facing signature to the library function that the notebooks use,
so a check compares the learner's code with the code the workbook itself runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lessonlib.checks.core import ExerciseCheck, register


# ---------------------------------------------------------------- metrics (11_evaluation §5.1)
def _random_query(rng: np.random.Generator, n_docs: int, n_rel: int, graded: bool, ties: bool) -> dict[str, Any]:
    docs = [f"d{i}" for i in range(n_docs)]
    scores = rng.integers(0, 4, n_docs).astype(float) if ties else rng.random(n_docs)
    run = {d: float(s) for d, s in zip(docs, scores)}
    rel_docs = rng.choice(n_docs + 3, size=min(n_rel, n_docs + 3), replace=False)  # some unretrieved
    qrels = {f"d{i}": int(rng.integers(1, 4)) if graded else 1 for i in rel_docs}
    return {"qrels": qrels, "run": run}


def _metric_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for graded in (False, True):
        for ties in (False, True):
            for k in (1, 5, 10):
                case = _random_query(rng, int(rng.integers(5, 30)), int(rng.integers(1, 6)), graded, ties)
                cases.append({**case, "k": k})
    cases.append({"qrels": {"a": 1}, "run": {"a": 1.0, "b": 0.5}, "k": 50})  # k larger than n
    cases.append({"qrels": {"a": 0, "x": 0}, "run": {"a": 1.0}, "k": 10})  # nothing relevant
    cases.append({"qrels": {"a": 2}, "run": {}, "k": 10})  # empty run
    cases.append({"qrels": {"b": 1}, "run": {"a": 1.0, "b": 1.0, "c": 1.0}, "k": 1})  # all tied
    return cases


def _trec(measure: str):
    def reference(qrels: dict[str, int], run: dict[str, float], k: int) -> float:
        from lessonlib.metrics import evaluate

        if not run:
            return 0.0
        return evaluate({"q": qrels}, {"q": run}, [f"{measure}@{k}"])[f"{measure}@{k}"]

    return reference


register(ExerciseCheck(
    id="ndcg_at_k", title="nDCG@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=_metric_cases, reference=_trec("ndcg"),
    hint="rank by score descending and break ties by doc id DESCENDING (trec_eval); gain = grade, "
         "discount = log2(rank + 1); the ideal DCG uses all judged grades, not only retrieved ones.",
    atol=1e-9,
))

register(ExerciseCheck(
    id="recall_at_k", title="Recall@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=_metric_cases, reference=_trec("recall"),
    hint="relevant = grade >= 1; divide by ALL relevant documents in the qrels (retrieved or not); "
         "nothing relevant gives 0.",
    atol=1e-9,
))


# ---------------------------------------------------------------- fusion (22_hybrid_systems)
def _rrf_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n_runs in (1, 2, 3):
        for k in (0, 1, 60):
            pool = [f"d{i}" for i in range(int(rng.integers(3, 15)))]
            rankings = [list(rng.permutation(pool)[: int(rng.integers(1, len(pool) + 1))]) for _ in range(n_runs)]
            cases.append({"rankings": [[str(d) for d in r] for r in rankings], "k": k})
    cases.append({"rankings": [[], ["a"]], "k": 60})  # an empty ranking
    cases.append({"rankings": [["a", "b"], ["b", "a"]], "k": 60})  # a tie in the fused scores
    return cases


def _rrf_reference(rankings: list[list[str]], k: float) -> dict[str, float]:
    from lessonlib.fusion import rrf

    runs = [{"q": {doc: float(len(r) - i) for i, doc in enumerate(r)}} for r in rankings]
    return rrf(runs, k=k).get("q", {})


register(ExerciseCheck(
    id="reciprocal_rank_fusion", title="Reciprocal rank fusion", practises="22_hybrid_systems — fusing sparse and dense runs",
    cases=_rrf_cases, reference=_rrf_reference,
    hint="score(d) = sum over rankings of 1 / (k + rank), rank starting at 1; a document missing "
         "from a ranking gets nothing from it.",
    atol=1e-12,
))
