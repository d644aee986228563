"""Per-query error analysis of a ranking pipeline: where the relevant document ends up, and why.

For one query and one run, the *first relevant rank* r is the 1-based position of its best-placed
relevant document (trec_eval's order: score descending, ties by doc id descending), or None when
no relevant document was retrieved. A cascade (first stage -> re-ranker of the top k) fails in
one of four ways, from worst to best:

    "not retrieved"      r is None or r > k  : a first-stage miss; no re-ranker can fix it
    "retrieved, > 10"    10 < r <= k          : a ranking error the re-ranker could fix
    "rank 2-10"          2 <= r <= 10         : found, but not on top
    "rank 1"             r = 1

``bucket_counts`` counts queries per bucket for each stage; ``stage_rows`` lays one query's path
through the stages side by side (rank of the relevant document, the top titles) for reading
examples, the step of error analysis that numbers alone skip (e.g. Manning, Raghavan & Schütze
2008, ch. 8, on looking at individual queries).

One system on two *disjoint* slices of queries (e.g. high- vs low-overlap claims) is compared
with :func:`lessonlib.evaluation.significance.compare_groups`.

>>> first_relevant_rank({"q": {"b": 1}}, {"q": {"a": 2.0, "b": 1.0}}, "q")
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lessonlib.core.runs import rank_documents

BUCKETS = ("rank 1", "rank 2-10", "retrieved, > 10", "not retrieved")


def first_relevant_rank(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
                        qid: str) -> int | None:
    """1-based rank of the best-placed relevant (grade > 0) document of ``qid`` in ``run``, or None."""
    relevant = {d for d, g in qrels.get(qid, {}).items() if g > 0}
    for r, d in enumerate(rank_documents(run.get(qid, {})), start=1):
        if d in relevant:
            return r
    return None


def bucket(rank: int | None, k: int) -> str:
    """The failure bucket (see the module docstring) of a first relevant rank, for re-ranking depth ``k``."""
    if k < 1:
        raise ValueError(f"bucket(k={k}): k must be >= 1")
    if rank is None or rank > k:
        return "not retrieved"
    if rank == 1:
        return "rank 1"
    return "rank 2-10" if rank <= 10 else "retrieved, > 10"


def bucket_counts(qrels: Mapping[str, Mapping[str, int]], runs: Mapping[str, Mapping[str, Mapping[str, float]]],
                  qids: Sequence[str], k: int) -> dict[str, dict[str, int]]:
    """{stage: {bucket: number of queries}} over ``qids``, every bucket present (0 if empty)."""
    out = {}
    for name, run in runs.items():
        counts = dict.fromkeys(BUCKETS, 0)
        for q in qids:
            counts[bucket(first_relevant_rank(qrels, run, q), k)] += 1
        out[name] = counts
    return out


def stage_rows(dataset, runs: Mapping[str, Mapping[str, Mapping[str, float]]], qid: str, n: int = 3,
               width: int = 70) -> list[dict]:
    """One row per stage for query ``qid``: ``{"stage", "rank", "top"}``, ``top`` the first ``n``
    titles (cut to ``width`` characters), each marked ✓ when judged relevant, ✗ when judged not
    relevant and · when unjudged."""
    judged = dataset.qrels.get(qid, {})
    rows = []
    for name, run in runs.items():
        top = []
        for d in rank_documents(run.get(qid, {}))[:n]:
            mark = "✓" if judged.get(d, -1) > 0 else ("✗" if d in judged else "·")
            title = dataset.corpus[d].get("title") or dataset.corpus[d].get("text", "")
            top.append(f"{mark} {title[:width]}")
        rows.append({"stage": name, "rank": first_relevant_rank(dataset.qrels, run, qid), "top": top})
    return rows

