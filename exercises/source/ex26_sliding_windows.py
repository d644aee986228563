# exercise: sliding_window_sump
# function: sliding_window_sump
# practises: 19_efficiency_long_documents — 1 · Long documents: truncation, windows, hierarchy, early termination (Day 10.2 §2.3)
# title: Sliding windows over a long document, scored and summed (SumP)

# %% [markdown]
# # Exercise 26 — Sliding windows over a long document, scored and summed (SumP)
#
# **Practises:** notebook `19_efficiency_long_documents`, section "1 · Long documents: truncation, windows,
# hierarchy, early termination" (its sliding-window cells) — Day 10.2 §2.3 (efficiency: length-aware processing).
#
# A cross-encoder reads at most `max_length` tokens per (query, document) pair. To score a longer document, cut it
# into **overlapping windows** of `size` tokens, score each (query, window) pair, and aggregate the window scores
# into one document score (Dai & Callan, 2019, "Deeper Text Understanding for IR with Contextual Neural Language
# Modeling": FirstP, MaxP, **SumP**). Consecutive windows **share `stride` tokens**, so window w starts at
# w·(size − stride); the last window ends exactly at the document's end (it may be shorter), and no window starts
# after one that already reached the end. A document of at most `size` tokens is one window (an empty document is
# one empty window).
#
# Here a stand-in replaces the cross-encoder: `token_scores[t]` is how much token t says about the query, and a
# window's score is the **sum** of its tokens' scores. SumP adds the window scores, so a token inside an overlap
# counts once per window that holds it:
#
# $$\text{windows} = [s_w, e_w) \text{ with } s_w = w\,(\text{size} - \text{stride}),\ e_w = \min(s_w + \text{size}, n), \qquad
#   \text{SumP} = \sum_w \sum_{t=s_w}^{e_w - 1} \text{token\_scores}[t].$$
#
# Write `sliding_window_sump(token_scores, size, stride)` (a list of n floats, 1 ≤ size, 0 ≤ stride < size) →
# `{"spans": [(start, end), ...], "scores": [window score, ...], "sump": float}`.
#
# `check("sliding_window_sump", sliding_window_sump)` compares with `lessonlib.cross.longdoc.windows` (the windows
# notebook 19 scores) and `aggregate(..., "sump")` on named hidden cases: "no overlap (stride 0)", "the last window is
# shorter: it ends at the document's end", "the windows fit exactly: the last one ends at the end, no extra window",
# "stride = size - 1: each window one token further", "a document shorter than one window", "a document of exactly one
# window's length", "an empty document: one empty window, score 0", "one relevant token inside an overlap counts once
# per window". While your function runs, `windows`, `aggregate` and `split_pairs` cannot be called: the check stops
# them ("... is not available during this check"), because this exercise asks you to write it yourself. A failing case
# is shown by its name, with its inputs (summarised when large), the expected and your output, and a hint, the
# specific one when your output matches a classic mistake.

# %%
from lessonlib.workbook.checks import check


def sliding_window_sump(token_scores: list[float], size: int, stride: int) -> dict:
    # BEGIN SOLUTION
    n, step = len(token_scores), size - stride
    spans = []
    for start in range(0, max(n, 1), step):
        end = min(start + size, n)
        spans.append((start, end))
        if end == n:  # this window reaches the end of the document
            break
    scores = [float(sum(token_scores[s:e])) for s, e in spans]
    return {"spans": spans, "scores": scores, "sump": float(sum(scores))}
    # END SOLUTION


# %%
result = check("sliding_window_sump", sliding_window_sump)
