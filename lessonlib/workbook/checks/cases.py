"""Case generators shared by several exercises' checks (each exercise's own ones live in its module)."""

from __future__ import annotations

from typing import Any

import numpy as np


from lessonlib.evaluation.metrics import evaluate
from lessonlib.workbook.checks.core import Case


def tensor(array: np.ndarray):
    """A torch tensor of ``array`` (float64 inputs, so the learner's arithmetic and the library's agree to 1e-6)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


def padding_mask(rng: np.random.Generator, batch: int, length: int, all_padding_row: bool = False) -> np.ndarray:
    """A (batch, length) 0/1 mask of trailing padding; with ``all_padding_row`` one row is all padding."""
    lengths = rng.integers(1, length + 1, batch)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    if all_padding_row:
        mask[rng.integers(batch)] = 0
    return mask


# ---------------------------------------------------------------- one query's qrels and run (ex05, ex06)
def random_query(rng: np.random.Generator, n_docs: int, n_rel: int, graded: bool, ties: bool) -> dict[str, Any]:
    docs = [f"d{i}" for i in range(n_docs)]
    scores = rng.integers(0, 4, n_docs).astype(float) if ties else rng.random(n_docs)
    run = {d: float(s) for d, s in zip(docs, scores)}
    rel_docs = rng.choice(n_docs + 3, size=min(n_rel, n_docs + 3), replace=False)  # some unretrieved
    qrels = {f"d{i}": int(rng.integers(1, 4)) if graded else 1 for i in rel_docs}
    return {"qrels": qrels, "run": run}


def metric_cases(rng: np.random.Generator) -> list[Case]:
    """Binary and graded judgments, distinct and tied scores, k = 1, 5, 10, then the edge cases."""
    cases = []
    for graded in (False, True):
        for ties in (False, True):
            for k in (1, 5, 10):
                case = random_query(rng, int(rng.integers(5, 30)), int(rng.integers(1, 6)), graded, ties)
                name = f"{'graded' if graded else 'binary'} judgments, {'tied' if ties else 'distinct'} scores, k={k}"
                cases.append(Case(name, {**case, "k": k}))
    cases.append(Case("k larger than the run", {"qrels": {"a": 1}, "run": {"a": 1.0, "b": 0.5}, "k": 50}))
    cases.append(Case("nothing relevant (all grades 0)", {"qrels": {"a": 0, "x": 0}, "run": {"a": 1.0}, "k": 10}))
    cases.append(Case("empty run", {"qrels": {"a": 2}, "run": {}, "k": 10}))
    cases.append(Case("all scores tied at the cut-off", {"qrels": {"b": 1}, "run": {"a": 1.0, "b": 1.0, "c": 1.0}, "k": 1}))
    cases.append(Case("ties decide what falls inside the top k",
                      {"qrels": {"a": 1, "c": 2}, "run": {"a": 2.0, "b": 2.0, "c": 2.0, "d": 3.0}, "k": 2}))
    return cases


def trec(measure: str):
    """The reference of a trec_eval measure ``<measure>@k`` for one query (0 for an empty run)."""

    def reference(qrels: dict[str, int], run: dict[str, float], k: int) -> float:
        if not run:
            return 0.0
        return evaluate({"q": qrels}, {"q": run}, [f"{measure}@{k}"])[f"{measure}@{k}"]

    return reference


def tie_order(run: dict[str, float], descending_ids: bool = True) -> list[str]:
    """Doc ids by score descending: ties by doc id descending (trec_eval's order) or ascending (a classic mistake).

    For the wrong variants, which run where the learner's function runs: there
    :func:`lessonlib.core.runs.rank_documents` is blocked, so the order is written out here.
    """
    if descending_ids:
        return [d for d, _ in sorted(run.items(), key=lambda item: (item[1], item[0]), reverse=True)]
    return [d for d, _ in sorted(run.items(), key=lambda item: (-item[1], item[0]))]
