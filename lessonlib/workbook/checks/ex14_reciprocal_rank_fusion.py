"""Exercise 14 (22_hybrid_systems): reciprocal rank fusion."""

from __future__ import annotations

import numpy as np

from lessonlib.retrieval.fusion import hybrid, rrf
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n_runs in (1, 2, 3):
        for k in (0, 1, 60):
            pool = [f"d{i}" for i in range(int(rng.integers(3, 15)))]
            rankings = [list(rng.permutation(pool)[: int(rng.integers(1, len(pool) + 1))]) for _ in range(n_runs)]
            name = f"{n_runs} ranking{'s' if n_runs > 1 else ''}, k={k}"
            out.append(Case(name, {"rankings": [[str(d) for d in r] for r in rankings], "k": k}))
    out.append(Case("an empty ranking", {"rankings": [[], ["a"]], "k": 60}))
    out.append(Case("a tie in the fused scores", {"rankings": [["a", "b"], ["b", "a"]], "k": 60}))
    out.append(Case("a document missing from one ranking", {"rankings": [["a", "b", "c"], ["c"]], "k": 1}))
    return out


def reference(rankings, k):
    runs = [{"q": {doc: float(len(r) - i) for i, doc in enumerate(r)}} for r in rankings]
    return rrf(runs, k=k).get("q", {})


def _fuse(rankings, k, start=1, missing_rank=None):
    out: dict[str, float] = {}
    docs = {d for r in rankings for d in r}
    for r in rankings:
        for rank, doc in enumerate(r, start):
            out[doc] = out.get(doc, 0.0) + 1.0 / (k + rank)
        if missing_rank is not None:
            for doc in docs - set(r):
                out[doc] = out.get(doc, 0.0) + 1.0 / (k + len(r) + 1)
    return out


def wrong_rank_from_zero(rankings, k=60):
    return _fuse(rankings, k, start=0)


def wrong_missing_gets_last_rank(rankings, k=60):
    return _fuse(rankings, k, missing_rank=True)


def wrong_max_not_sum(rankings, k=60):
    out: dict[str, float] = {}
    for r in rankings:
        for rank, doc in enumerate(r, 1):
            out[doc] = max(out.get(doc, 0.0), 1.0 / (k + rank))
    return out


register(ExerciseCheck(
    id="reciprocal_rank_fusion", title="Reciprocal rank fusion", practises="22_hybrid_systems — fusing sparse and dense runs",
    cases=cases, reference=reference,
    hint="score(d) = sum over rankings of 1 / (k + rank), rank starting at 1; a document missing "
         "from a ranking gets nothing from it.",
    wrong={
        "ranks start at 1 (the best document of a ranking gets 1 / (k + 1)).": wrong_rank_from_zero,
        "a document missing from a ranking gets NOTHING from that ranking (not the score of the next rank).":
            wrong_missing_gets_last_rank,
        "RRF SUMS 1 / (k + rank) over the rankings (a document found by several rankings gains from each).": wrong_max_not_sum,
    },
    blocks=(rrf, hybrid),
    atol=1e-12,
))
