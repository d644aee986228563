"""Exercise 4 (03_negative_sampling §2.1): BM25 hard negatives with false-negative filtering."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import rank_documents, ranked, truncate
from lessonlib.dual.samplers import BM25Negatives
from lessonlib.dual.samplers.ranked import RankedNegatives
from lessonlib.workbook.checks.cases import tie_order as order
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n_docs, n_pos, n, skip, depth, ties, name in [
            (20, 1, 3, 0, 100, False, "no skip, one positive"), (20, 2, 5, 2, 100, False, "skip_top 2"),
            (30, 3, 4, 5, 10, False, "depth 10 cuts the pool before the positives are removed"),
            (15, 1, 4, 1, 100, True, "tied scores, skip_top 1"), (12, 2, 20, 0, 100, False, "n larger than the pool"),
            (40, 4, 8, 3, 25, True, "tied scores at the depth cut-off")]:
        docs = [f"d{i:02d}" for i in range(n_docs)]
        scores = rng.integers(0, 5, n_docs).astype(float) if ties else np.round(rng.random(n_docs) * 20, 3)
        ranking = {d: float(s) for d, s in zip(docs, scores)}
        # positives: often among the top documents (that is why they must be filtered), sometimes unretrieved
        top = order(ranking)[:5]
        positives = list(rng.choice(top, size=min(n_pos, len(top)) - 1, replace=False)) + ["unretrieved"]
        out.append(Case(name, {"ranking": ranking, "positives": [str(p) for p in positives], "n": n, "skip_top": skip, "depth": depth}))
    out.append(Case("empty ranking", {"ranking": {}, "positives": ["a"], "n": 3, "skip_top": 0, "depth": 100}))
    out.append(Case("only positives in the ranking", {"ranking": {"a": 3.0, "b": 2.0}, "positives": ["a", "b"], "n": 2, "skip_top": 0, "depth": 100}))
    out.append(Case("n = 0", {"ranking": {"a": 3.0, "b": 2.0, "c": 1.0}, "positives": ["a"], "n": 0, "skip_top": 0, "depth": 100}))
    out.append(Case("all scores tied, skip and depth", {"ranking": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, "positives": ["c"],
                                                        "n": 2, "skip_top": 1, "depth": 3}))
    out.append(Case("a positive inside the skipped top",
                    {"ranking": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}, "positives": ["a"], "n": 2, "skip_top": 1, "depth": 100}))
    return out


def reference(ranking, positives, n, skip_top=0, depth=100):
    return BM25Negatives({"q": ranking}, depth=depth, skip_top=skip_top, pick="top").sample(["q"], [positives], n)[0]


def wrong_skip_before_filtering(ranking, positives, n, skip_top=0, depth=100):
    pool = order(ranking)[:depth][skip_top:]
    return [d for d in pool if d not in positives][:n]


def wrong_ties_ascending(ranking, positives, n, skip_top=0, depth=100):
    pool = [d for d in order(ranking, descending_ids=False)[:depth] if d not in positives]
    return pool[skip_top:skip_top + n]


def wrong_depth_after_filtering(ranking, positives, n, skip_top=0, depth=100):
    pool = [d for d in order(ranking) if d not in positives][:depth]
    return pool[skip_top:skip_top + n]


def wrong_keeps_positives(ranking, positives, n, skip_top=0, depth=100):
    return order(ranking)[:depth][skip_top:skip_top + n]


register(ExerciseCheck(
    id="bm25_negatives", title="BM25 hard negatives with false-negative filtering",
    practises="03_negative_sampling — BM25 negatives, false negatives (Day 10.1 §2.1)",
    cases=cases, reference=reference,
    hint="sort by score descending, ties by doc id descending (trec_eval's order); keep the top `depth`; THEN drop the known "
         "positives; THEN skip the first `skip_top` of what is left; return the next n (fewer if the pool runs out).",
    wrong={
        "you skipped the top ranks BEFORE removing the positives: drop the positives first, then skip `skip_top` of what is left.":
            wrong_skip_before_filtering,
        "you broke ties by doc id ascending; trec_eval (and the samplers) break them DESCENDING.": wrong_ties_ascending,
        "cut the ranking at `depth` BEFORE removing the positives (depth counts ranks of the first stage).":
            wrong_depth_after_filtering,
        "you kept the known positives: a positive is never a negative, remove them.": wrong_keeps_positives,
    },
    blocks=(BM25Negatives, RankedNegatives, rank_documents, ranked, truncate),
))
