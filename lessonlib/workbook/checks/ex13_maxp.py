"""Exercise 13 (19_efficiency_long_documents §2.3): FirstP, MaxP, SumP and MeanP over sliding windows."""

from __future__ import annotations

import numpy as np

from lessonlib.cross.longdoc import aggregate, maxp_early_exit
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n_docs, mode, name in [(1, "maxp", "maxp, one document"), (3, "maxp", "maxp, 3 documents"), (4, "firstp", "firstp"),
                               (5, "sump", "sump"), (3, "meanp", "meanp"), (6, "maxp", "maxp, 6 documents"),
                               (6, "firstp", "firstp, 6 documents"), (6, "sump", "sump, 6 documents")]:
        windows = rng.integers(1, 5, n_docs)
        owner = np.repeat(np.arange(n_docs), windows)
        out.append(Case(name, {"passage_scores": [float(s) for s in np.round(rng.normal(size=len(owner)) * 3, 4)],
                               "owner": [int(o) for o in owner], "n_docs": n_docs, "mode": mode}))
    for mode in ("maxp", "firstp", "sump", "meanp"):
        out.append(Case(f"{mode}: a document without windows, ties inside a document",
                        {"passage_scores": [2.0, 2.0, -1.0, 0.5], "owner": [0, 0, 2, 2], "n_docs": 3, "mode": mode}))
    out.append(Case("maxp: all window scores negative", {"passage_scores": [-3.0, -1.5, -2.0], "owner": [0, 0, 1], "n_docs": 2, "mode": "maxp"}))
    out.append(Case("no windows at all", {"passage_scores": [], "owner": [], "n_docs": 2, "mode": "maxp"}))
    return out


def reference(passage_scores, owner, n_docs, mode):
    return aggregate(np.asarray(passage_scores, np.float64), np.asarray(owner, np.int64), n_docs, mode).astype(np.float64)


def _aggregate(passage_scores, owner, n_docs, mode, max_start=-np.inf, empty=None, firstp_last=False):
    groups = [[s for s, o in zip(passage_scores, owner) if o == d] for d in range(n_docs)]
    out = []
    for g in groups:
        if not g:
            out.append((-np.inf if mode == "maxp" else 0.0) if empty is None else empty)
        elif mode == "maxp":
            out.append(max([max_start, *g]))
        elif mode == "firstp":
            out.append(g[-1] if firstp_last else g[0])
        elif mode == "sump":
            out.append(sum(g))
        else:
            out.append(sum(g) / len(g))
    return out


def wrong_max_starts_at_zero(passage_scores, owner, n_docs, mode):
    return _aggregate(passage_scores, owner, n_docs, mode, max_start=0.0, empty=0.0)


def wrong_empty_is_zero(passage_scores, owner, n_docs, mode):
    return _aggregate(passage_scores, owner, n_docs, mode, empty=0.0)


def wrong_firstp_takes_last(passage_scores, owner, n_docs, mode):
    return _aggregate(passage_scores, owner, n_docs, mode, firstp_last=True)


register(ExerciseCheck(
    id="passage_aggregation", title="Long documents: FirstP, MaxP, SumP and MeanP over sliding windows",
    practises="19_efficiency_long_documents — sliding windows (Day 10.2 §2.3)",
    cases=cases, reference=reference,
    hint="group the window scores by owner (windows arrive in document order); firstp = the first window's "
         "score, maxp = max, sump = sum, meanp = mean; a document without windows gets -inf for maxp, 0 otherwise.",
    wrong={
        "a document without windows gets -inf under maxp (it cannot beat any scored document), 0 under the other modes.":
            wrong_empty_is_zero,
        "your running max starts at 0: scores can be negative, start at -inf (and a document without windows gets -inf "
        "for maxp).": wrong_max_starts_at_zero,
        "firstp is the FIRST window's score (the document's beginning), not the last one's.": wrong_firstp_takes_last,
    },
    blocks=(aggregate, maxp_early_exit),
    atol=1e-4,
))
