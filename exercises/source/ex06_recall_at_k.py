# exercise: recall_at_k
# function: recall_at_k
# practises: 11_evaluation §5.1 retrieval metrics (Day 10.1 §5.1)
# title: Recall@k exactly as trec_eval

# %% [markdown]
# # Exercise 6 — Recall@k, exactly as trec_eval
#
# **Practises:** notebook `11_evaluation`, Day 10.1 §5.1 (retrieval metrics). A first-stage retriever is judged
# by recall: a re-ranker can only reorder what the first stage found.
#
# Write `recall_at_k(qrels, run, k)` for ONE query:
# - `qrels`: `{doc_id: grade}` (grade 0 = judged not relevant), `run`: `{doc_id: score}` (higher is better).
# - Rank the run by score descending; **ties are broken by doc id in descending order** (trec_eval's rule —
#   it decides which tied documents fall inside the top k).
# - Recall@k = |relevant ∩ top k| / |relevant|, where relevant = the judged documents with grade ≥ 1,
#   retrieved or not; 0 when nothing is relevant.
#
# `check("recall_at_k", recall_at_k)` compares with `lessonlib.evaluation.metrics.evaluate` (pytrec_eval's
# definitions) on named hidden cases: graded and binary judgments with distinct and tied scores at k = 1, 5, 10, "k
# larger than the run", "nothing relevant (all grades 0)", "empty run", "all scores tied at the cut-off", "ties
# decide what falls inside the top k". While your function runs, `evaluate` (and the functions behind it) and
# `lessonlib.core.runs`' ranking helpers cannot be called: the check stops them ("... is not available during this
# check"), because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
from lessonlib.workbook.checks import check


def recall_at_k(qrels: dict[str, int], run: dict[str, float], k: int) -> float:
    # BEGIN SOLUTION
    relevant = {doc for doc, grade in qrels.items() if grade >= 1}
    if not relevant:
        return 0.0
    ranked = sorted(run.items(), key=lambda item: (item[1], item[0]), reverse=True)[:k]
    return sum(doc in relevant for doc, _ in ranked) / len(relevant)
    # END SOLUTION


# %%
result = check("recall_at_k", recall_at_k)
