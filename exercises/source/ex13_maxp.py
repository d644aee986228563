# exercise: passage_aggregation
# function: passage_aggregation
# practises: 19_efficiency_long_documents — sliding windows (Day 10.2 §2.3)
# title: Long documents: FirstP, MaxP, SumP and MeanP over sliding windows

# %% [markdown]
# # Exercise 13 — Long documents: FirstP, MaxP, SumP and MeanP
#
# **Practises:** notebook `19_efficiency_long_documents`, Day 10.2 §2.3 (efficiency optimisations, long
# documents).
#
# A cross-encoder reads at most ~512 tokens. Dai & Callan (2019, "Deeper Text Understanding for IR with
# Contextual Neural Language Modeling") cut a long document into overlapping **windows** (passages), score
# (query, window) for each, and aggregate the window scores s_1 … s_w into one document score:
# **FirstP** = s_1, **MaxP** = max_i s_i, **SumP** = Σ_i s_i (and MeanP = the mean).
#
# Write `passage_aggregation(passage_scores, owner, n_docs, mode)`: `passage_scores[i]` is the score of window i
# and `owner[i]` the index (0 … n_docs − 1) of the document it comes from; the windows of a document appear
# consecutively and in document order. Return a list of `n_docs` floats for `mode` in
# `"firstp" | "maxp" | "sump" | "meanp"`. A document without any window gets `-inf` for MaxP and 0 otherwise.
#
# `check("passage_aggregation", passage_aggregation)` compares with `lessonlib.cross.longdoc.aggregate` on named
# hidden cases: each mode on random documents, "<mode>: a document without windows, ties inside a document", "maxp:
# all window scores negative", "no windows at all". While your function runs, `aggregate` and `maxp_early_exit`
# cannot be called: the check stops them ("... is not available during this check"), because this exercise asks you
# to write it yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected
# and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
from lessonlib.workbook.checks import check


def passage_aggregation(passage_scores: list[float], owner: list[int], n_docs: int, mode: str) -> list[float]:
    # BEGIN SOLUTION
    per_doc: list[list[float]] = [[] for _ in range(n_docs)]
    for score, doc in zip(passage_scores, owner):
        per_doc[doc].append(score)
    if mode == "firstp":
        return [s[0] if s else 0.0 for s in per_doc]
    if mode == "maxp":
        return [max(s) if s else float("-inf") for s in per_doc]
    if mode == "sump":
        return [sum(s) for s in per_doc]
    if mode == "meanp":
        return [sum(s) / len(s) if s else 0.0 for s in per_doc]
    raise ValueError(f"passage_aggregation(mode={mode!r}): expected firstp, maxp, sump or meanp")
    # END SOLUTION


# %%
result = check("passage_aggregation", passage_aggregation)
