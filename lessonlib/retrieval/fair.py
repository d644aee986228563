"""Fairness of exposure and a fair top-k re-ranker (FA*IR): the multi-objective side of re-ranking.

A ranking gives its documents *exposure*: users look at rank 1 more than at rank 10. With the DCG
position bias (Singh & Joachims 2018, "Fairness of Exposure in Rankings")::

    v(j) = 1 / log2(1 + j)                        j = 1, 2, ... the rank
    Exp(G | q) = (1 / |G ∩ C_q|) * sum_{d in G ∩ C_q} v(rank_q(d))

the mean exposure of a member of group G among the ranked candidates C_q of query q. Demographic
parity of exposure asks Exp(G_1|q) = Exp(G_0|q); :func:`exposure_disparity` measures the gap
Exp(G_1|q) - Exp(G_0|q) per query (queries whose candidates hold both groups).

**FA*IR** (Zehlike et al. 2017, "FA*IR: A Fair Top-k Ranking Algorithm") re-ranks so that every
prefix of the ranking holds at least as many *protected* documents as a fair coin with success
probability ``p`` would give, at significance ``alpha``::

    m(i) = F^{-1}(alpha; i, p)        the inverse binomial CDF: minimum protected count in the top i

Greedily, rank i takes the best protected candidate if the top i-1 hold fewer than m(i), else the
best candidate of either group (:func:`fa_ir`). ``p = 0`` returns the input ranking; larger ``p``
buys parity with relevance. (The paper also corrects ``alpha`` for testing every prefix; we use
the uncorrected table, a slightly weaker constraint.) :func:`fairness_curve` traces nDCG@10 against
disparity over ``p`` — a Pareto curve of the two objectives — and :func:`choose_weight` picks ``p``
on VALIDATION queries. Notebook 22, section 7 teaches it.

>>> fa_ir({"a": 3.0, "b": 2.0, "c": 1.0}, protected={"c"}, p=0.5, alpha=0.5)
['a', 'c', 'b']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
from scipy.stats import binom

from lessonlib.core.runs import Run, rank_documents
from lessonlib.evaluation.metrics import evaluate


def position_exposure(n: int) -> np.ndarray:
    """v(j) = 1 / log2(1 + j) for ranks j = 1..n: (n,) float64."""
    if n < 0:
        raise ValueError(f"position_exposure(n={n}): must be >= 0")
    return 1.0 / np.log2(1.0 + np.arange(1, n + 1))


def length_groups(doc_texts: Mapping[str, str], threshold: float | None = None) -> tuple[dict[str, int], float]:
    """Group 1 = documents longer than ``threshold`` words (default: the median over ``doc_texts``), group 0 the rest.

    Returns (doc id -> group, the threshold used). Length is a plain, measurable attribute; on
    SciFact it separates short abstracts from long, often structured (clinical) ones.
    """
    if not doc_texts:
        raise ValueError("length_groups(doc_texts={}): no documents")
    lengths = {d: len(t.split()) for d, t in doc_texts.items()}
    cut = float(np.median(list(lengths.values()))) if threshold is None else float(threshold)
    return {d: int(n > cut) for d, n in lengths.items()}, cut


def exposure_by_group(ranking: Sequence[str], groups: Mapping[str, int]) -> dict[int, float]:
    """Mean exposure v(rank) of the members of each group present in ``ranking`` (best first)."""
    v = position_exposure(len(ranking))
    out: dict[int, list[float]] = {}
    for d, e in zip(ranking, v):
        if d not in groups:
            raise ValueError(f"exposure_by_group: document {d!r} has no group")
        out.setdefault(groups[d], []).append(float(e))
    return {g: float(np.mean(e)) for g, e in out.items()}


def exposure_disparity(run: Run, groups: Mapping[str, int], k: int | None = None, a: int = 1,
                       b: int = 0) -> dict[str, float]:
    """Per query: Exp(G_a|q) - Exp(G_b|q) over the top ``k`` of ``run`` (trec_eval's order), for queries
    whose top ``k`` holds both groups. 0 = parity; > 0: group ``a`` is seen more per member."""
    out = {}
    for q, docs in run.items():
        e = exposure_by_group(rank_documents(docs, k), groups)
        if a in e and b in e:
            out[q] = e[a] - e[b]
    return out


def fair_minimums(k: int, p: float, alpha: float = 0.1) -> np.ndarray:
    """FA*IR's table m(i) = F^{-1}(alpha; i, p), i = 1..k: (k,) int minimum protected counts per prefix."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"fair_minimums(p={p}): must be in [0, 1]")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"fair_minimums(alpha={alpha}): must be in (0, 1)")
    if k < 0:
        raise ValueError(f"fair_minimums(k={k}): must be >= 0")
    return binom.ppf(alpha, np.arange(1, k + 1), p).astype(int)


def fa_ir(scores: Mapping[str, float], protected: Collection[str], p: float, alpha: float = 0.1,
          k: int | None = None) -> list[str]:
    """FA*IR's ranking of ``scores``' documents (module docstring): the top ``k`` (default all), best first.

    Within each group, documents keep the order of ``scores`` (score descending, then doc id descending:
    trec_eval's); where the table asks for a protected document and none is left, the best of the rest is taken.
    """
    order = rank_documents(scores)
    k = len(order) if k is None else min(k, len(order))
    need = fair_minimums(k, p, alpha)
    prot = [d for d in order if d in protected]
    rest = [d for d in order if d not in protected]
    out: list[str] = []
    n_prot = 0
    for i in range(k):
        if prot and (n_prot < need[i] or not rest or (scores[prot[0]], prot[0]) > (scores[rest[0]], rest[0])):
            out.append(prot.pop(0))
            n_prot += 1
        else:
            out.append(rest.pop(0))
    return out


def fair_rerank(run: Run, groups: Mapping[str, int], protected: int, p: float, alpha: float = 0.1) -> Run:
    """:func:`fa_ir` on every query of ``run`` (all its documents) with group ``protected`` protected;
    scores of the result are ``n - position``."""
    out: Run = {}
    for q, docs in run.items():
        ranking = fa_ir(docs, {d for d in docs if groups.get(d) == protected}, p, alpha)
        out[q] = {d: float(len(ranking) - i) for i, d in enumerate(ranking)}
    return out


def fairness_curve(run: Run, groups: Mapping[str, int], qrels: Mapping[str, Mapping[str, int]], protected: int,
                   ps: Sequence[float], alpha: float = 0.1) -> list[dict]:
    """For each ``p``: nDCG@10 and mean exposure disparity (protected minus the other group) of :func:`fair_rerank`.

    Returns ``[{"p", "ndcg@10", "disparity", "per_query_disparity", "run"}]`` in ``ps`` order.
    """
    other = 1 - protected
    rows = []
    for p in ps:
        r = fair_rerank(run, groups, protected, float(p), alpha)
        d = exposure_disparity(r, groups, a=protected, b=other)
        rows.append({"p": float(p), "ndcg@10": evaluate(qrels, r, ["ndcg@10"])["ndcg@10"],
                     "disparity": float(np.mean(list(d.values()))) if d else 0.0, "per_query_disparity": d, "run": r})
    return rows


def choose_weight(curve: Sequence[dict], max_loss: float = 0.01) -> float:
    """The ``p`` of a VALIDATION :func:`fairness_curve` with the smallest |disparity| among those whose
    nDCG@10 is within ``max_loss`` of the first point's (``p = 0``: the unconstrained ranking); ties: smaller p."""
    if not curve:
        raise ValueError("choose_weight(curve=[]): empty curve")
    if max_loss < 0:
        raise ValueError(f"choose_weight(max_loss={max_loss}): must be >= 0")
    base = curve[0]["ndcg@10"]
    ok = [r for r in curve if r["ndcg@10"] >= base - max_loss - 1e-12]
    return min(ok, key=lambda r: (abs(r["disparity"]), r["p"]))["p"]
