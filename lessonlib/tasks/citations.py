"""Citation analysis on what SciFact can measure: the bipartite graph of claims (citing sentences)
and the abstracts they cite, and citation recommendation = retrieving the cited abstract for a
citing sentence. Day 10.2 §7 (citation analysis), taught in notebook 23.

SciFact's abstracts carry no references, so there is no document-to-document citation graph
(co-citation, bibliographic coupling, PageRank) to analyse; each claim, though, was written from a
citing sentence and its qrels are the abstracts that sentence cited (Wadden et al. 2020, "Fact or
Fiction: Verifying Scientific Claims"). Retrieving them is *local citation recommendation*
(He et al. 2010, "Context-aware citation recommendation", WWW; survey: Färber & Jatowt 2020,
"Citation recommendation: approaches and datasets", IJDL).

>>> citation_graph(ds.qrels)["claims"], citation_recommendation(ds.qrels, run, ks=(1, 10))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from lessonlib.evaluation.metrics import evaluate, per_query_array


def citation_graph(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Statistics of the claim -> cited-abstract graph (edges = grade > 0).

    claims, cited abstracts, mean references per claim (out-degree), share of claims citing >= 2,
    share of cited abstracts cited by >= 2 claims (in-degree), co-cited pairs (two abstracts cited
    by one claim: the only co-citation the data holds).
    """
    refs = {q: sorted(d for d, g in docs.items() if g > 0) for q, docs in qrels.items()}
    refs = {q: r for q, r in refs.items() if r}
    if not refs:
        raise ValueError("citation_graph(qrels): no query has a cited (grade > 0) document")
    indeg = Counter(d for r in refs.values() for d in r)
    pairs = {(a, b) for r in refs.values() for i, a in enumerate(r) for b in r[i + 1:]}
    return {"claims": len(refs), "cited abstracts": len(indeg),
            "mean references per claim": float(np.mean([len(r) for r in refs.values()])),
            "claims citing >= 2": float(np.mean([len(r) >= 2 for r in refs.values()])),
            "abstracts cited by >= 2 claims": float(np.mean([c >= 2 for c in indeg.values()])),
            "co-cited pairs": len(pairs)}


def citation_recommendation(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
                            ks: Sequence[int] = (1, 3, 10)) -> dict[str, float]:
    """Citation recommendation measures of a run: ``recall@k`` (share of the cited abstracts in the
    top k, averaged over claims), ``all cited@k`` (share of claims whose EVERY cited abstract is in
    the top k: what a writer needs to complete the reference) and ``mrr`` (trec_eval's)."""
    if not ks or min(ks) < 1:
        raise ValueError(f"citation_recommendation(ks={ks}): need at least one k, each >= 1")
    qids = sorted(q for q, docs in qrels.items() if any(g > 0 for g in docs.values()))
    out = {}
    for k in ks:
        rec = per_query_array(qrels, run, f"recall@{k}", qids)
        out[f"recall@{k}"], out[f"all cited@{k}"] = float(rec.mean()), float(np.mean(rec >= 1.0 - 1e-9))
    out["mrr"] = evaluate(qrels, run, ["mrr"])["mrr"]
    return out
