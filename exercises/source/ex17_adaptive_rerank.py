# exercise: adaptive_rerank
# function: adaptive_rerank
# practises: 22_hybrid_systems — retrieve-then-rerank, adaptive re-ranking (Day 10.2 §2.3, §5.2)
# title: Adaptive re-ranking: rerank only where the first stage is unsure

# %% [markdown]
# # Exercise 17 — Adaptive re-ranking: re-rank only where the first stage is unsure
#
# **Practises:** notebook `22_hybrid_systems` (retrieve-then-rerank, the cost of the cross-encoder), Day 10.2
# §2.3 and §5.2 (efficiency, the quality–cost trade-off).
#
# Re-ranking the top k of every query with a cross-encoder costs k forward passes per query. Where the first
# stage is **confident** — its best document scores far above the second — the cross-encoder rarely changes the
# top of the ranking, so we can skip it (selective re-ranking; cf. Culpepper, Clarke & Lin, 2016, "Dynamic Cutoff
# Prediction in Multi-Stage Retrieval Systems"). The policy:
#
# - margin(q) = s_(1) − s_(2), the first stage's best score minus its second-best score;
# - re-rank q **iff** it has at least 2 documents and margin(q) < `threshold` (strictly; a tie has margin 0);
# - cost = Σ over re-ranked queries of min(k, number of documents of q) cross-encoder calls.
#
# Write `adaptive_rerank(run, threshold, k)`: `run` is `{query_id: {doc_id: first-stage score}}` → return
# `{"rerank": {query_id: bool, ...for every query of the run}, "cost": int}`.
# `check("adaptive_rerank", adaptive_rerank)` compares with the reference policy
# `lessonlib.workbook.checks.ex17_adaptive_rerank.adaptive_rerank_policy` on named hidden cases: "threshold 0:
# nothing is re-ranked", "threshold inf: every query with 2+ documents", "tied scores, k = 100", "one document, no
# document, a tie", "margin exactly at the threshold (strict <)", "no queries". While your function runs, the policy
# and its parts (`retrieval.adaptive.adaptive_rerank`, `rerank_cost`, `retrieval.cascade.score_margin`, `route`)
# cannot be called: the check stops them ("... is not available during this check"), because this exercise asks you
# to write it yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected
# and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
from lessonlib.workbook.checks import check


def adaptive_rerank(run: dict[str, dict[str, float]], threshold: float, k: int) -> dict:
    # BEGIN SOLUTION
    decisions, cost = {}, 0
    for qid, docs in run.items():
        best = sorted(docs.values(), reverse=True)
        rerank = len(best) >= 2 and best[0] - best[1] < threshold
        decisions[qid] = rerank
        if rerank:
            cost += min(k, len(docs))
    return {"rerank": decisions, "cost": cost}
    # END SOLUTION


# %%
result = check("adaptive_rerank", adaptive_rerank)
