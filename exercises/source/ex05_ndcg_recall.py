# exercise: ndcg_at_k
# function: ndcg_at_k
# practises: 11_evaluation §5.1 retrieval metrics (Day 10.1 §5.1)
# title: nDCG@k exactly as trec_eval

# %% [markdown]
# # Exercise 5 — nDCG@k, exactly as trec_eval
#
# **Practises:** notebook `11_evaluation`, Day 10.1 §5.1 (retrieval metrics).
#
# Write `ndcg_at_k(qrels, run, k)` for ONE query:
# - `qrels`: `{doc_id: grade}` (grade 0 = judged not relevant), `run`: `{doc_id: score}` (higher is better).
# - Rank the run by score descending; **ties are broken by doc id in descending order** (trec_eval's rule).
# - DCG@k = Σ_{i=1..k} grade(d_i) / log2(i + 1); IDCG@k is the DCG of the ideal ordering of all judged grades.
# - nDCG@k = DCG@k / IDCG@k, and 0 when nothing is relevant.
#
# `check("ndcg_at_k", ndcg_at_k)` compares your function with `lessonlib.evaluation.metrics.evaluate` on named
# hidden cases: graded and binary judgments with distinct and tied scores at k = 1, 5, 10, "k larger than the run",
# "nothing relevant (all grades 0)", "empty run", "all scores tied at the cut-off", "ties decide what falls inside
# the top k". While your function runs, `evaluate` (and the functions behind it) and `lessonlib.core.runs`' ranking
# helpers cannot be called: the check stops them ("... is not available during this check"), because this exercise
# asks you to write it yourself. A failing case is shown by its name, with its inputs (summarised when large), the
# expected and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
import math

from lessonlib.workbook.checks import check


def ndcg_at_k(qrels: dict[str, int], run: dict[str, float], k: int) -> float:
    # BEGIN SOLUTION
    ranked = sorted(run.items(), key=lambda item: (item[1], item[0]), reverse=True)[:k]
    dcg = sum(qrels.get(doc, 0) / math.log2(i + 2) for i, (doc, _) in enumerate(ranked) if qrels.get(doc, 0) > 0)
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0
    # END SOLUTION


# %%
result = check("ndcg_at_k", ndcg_at_k)
