# exercise: reciprocal_rank_fusion
# function: reciprocal_rank_fusion
# practises: 22_hybrid_systems — fusing a sparse and a dense run (Day 10.1 §7, Day 10.2 hybrid systems)
# title: Reciprocal rank fusion

# %% [markdown]
# # Exercise 14 — Reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009)
#
# **Practises:** notebook `22_hybrid_systems` (retrieve with BM25 and a dual encoder, fuse the runs).
#
# Write `reciprocal_rank_fusion(rankings, k=60)`: `rankings` is a list of rankings, each a list of doc ids
# best first. Return `{doc_id: score}` with score(d) = Σ_r 1 / (k + rank_r(d)), ranks starting at 1; a document
# absent from a ranking gets nothing from it.
#
# `check("reciprocal_rank_fusion", reciprocal_rank_fusion)` compares with `lessonlib.retrieval.fusion.rrf` on named
# hidden cases: one to three rankings with k = 0, 1, 60, "an empty ranking", "a tie in the fused scores", "a
# document missing from one ranking". While your function runs, `rrf` and `hybrid` cannot be called: the check stops
# them ("... is not available during this check"), because this exercise asks you to write it yourself. A failing
# case is shown by its name, with its inputs (summarised when large), the expected and your output, and a hint, the
# specific one when your output matches a classic mistake.

# %%
from lessonlib.workbook.checks import check


def reciprocal_rank_fusion(rankings: list[list[str]], k: float = 60) -> dict[str, float]:
    # BEGIN SOLUTION
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused
    # END SOLUTION


# %%
result = check("reciprocal_rank_fusion", reciprocal_rank_fusion)
