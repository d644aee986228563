# exercise: bm25_negatives
# function: bm25_negatives
# practises: 03_negative_sampling — BM25 negatives, false negatives (Day 10.1 §2.1)
# title: BM25 hard negatives with false-negative filtering

# %% [markdown]
# # Exercise 4 — BM25 hard negatives with false-negative filtering
#
# **Practises:** notebook `03_negative_sampling`, Day 10.1 §2.1 (negative sampling).
#
# DPR (Karpukhin et al., 2020) trains with **BM25 negatives**: documents that BM25 ranks high for the query but
# that are not its positives — lexically close, hence harder than random ones. The top of the ranking also holds
# unjudged relevant documents (**false negatives**); RocketQA (Qu et al., 2021) reduces them by skipping the very
# top ranks.
#
# Write `bm25_negatives(ranking, positives, n, skip_top=0, depth=100)` for ONE query:
# - `ranking`: `{doc_id: bm25_score}`; rank it by score descending, **ties by doc id descending** (trec_eval's order), and keep the
#   top `depth` documents;
# - remove the known `positives` (a list of doc ids, some may not be in the ranking);
# - skip the first `skip_top` of what is left;
# - return the next `n` doc ids, best first (fewer when the pool runs out).
#
# `check("bm25_negatives", bm25_negatives)` compares with `lessonlib.dual.samplers.BM25Negatives(run, depth,
# skip_top, pick="top")` on named hidden cases: "tied scores at the depth cut-off", "n larger than the pool", "empty
# ranking", "only positives in the ranking", "n = 0", "a positive inside the skipped top". While your function runs,
# the samplers and `lessonlib.core.runs`' ranking helpers (`ranked`, `rank_documents`, `truncate`) cannot be called:
# the check stops them ("... is not available during this check"), because this exercise asks you to write it
# yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected and your
# output, and a hint, the specific one when your output matches a classic mistake.

# %%
from lessonlib.workbook.checks import check


def bm25_negatives(ranking: dict[str, float], positives: list[str], n: int, skip_top: int = 0,
                   depth: int = 100) -> list[str]:
    # BEGIN SOLUTION
    ranked = [doc for doc, _ in sorted(ranking.items(), key=lambda item: (item[1], item[0]), reverse=True)][:depth]
    known = set(positives)
    pool = [doc for doc in ranked if doc not in known]
    return pool[skip_top:][:n]
    # END SOLUTION


# %%
result = check("bm25_negatives", bm25_negatives)
