# exercise: ranknet_loss
# function: ranknet_loss
# practises: 15_training_monobert — training objectives (Day 10.2 §3.2)
# title: RankNet pairwise loss

# %% [markdown]
# # Exercise 11 — The RankNet pairwise loss
#
# **Practises:** notebook `15_training_monobert`, Day 10.2 §3.2 (advanced training objectives).
#
# A pointwise loss (BCE) looks at one (query, document) pair at a time; a **pairwise** loss compares two
# documents of the same query. RankNet (Burges et al., 2005, "Learning to Rank using Gradient Descent") models
# P(i ranked above j) = σ(s_i − s_j) and minimises the cross-entropy with the label "i is better":
#
# $$\mathcal{L} = \frac{1}{|P|}\sum_{(b,i,j) \in P} \log\big(1 + e^{-(s_{bi} - s_{bj})}\big),
#   \qquad P = \{(b, i, j) : y_{bi} > y_{bj}\}$$
#
# over all pairs of documents of one query with different grades, averaged over the pairs of the **whole batch**
# (0 when there is none).
#
# Write `ranknet_loss(scores, labels)`: `scores` (B, n) cross-encoder logits and `labels` (B, n) grades (torch
# float64) → a scalar torch tensor. Use `torch.nn.functional.softplus(x) = log(1 + e^x)`, which does not overflow.
# `check("ranknet_loss", ranknet_loss)` compares with `lessonlib.losses.ranking.ranknet` on named hidden cases:
# binary and graded labels, "no pair with different labels: loss 0", "tied scores: log 2 per pair", "large margins
# (needs softplus)", "pairs counted over the whole batch". While your function runs, `ranknet` (and `lambda_loss`,
# `get_loss`, `mix`, which reach it) cannot be called: the check stops them ("... is not available during this
# check"), because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def ranknet_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    pairs = (labels[:, :, None] > labels[:, None, :]).to(scores.dtype)  # (B, n, n): i better than j
    diff = scores[:, :, None] - scores[:, None, :]
    return (F.softplus(-diff) * pairs).sum() / pairs.sum().clamp_min(1.0)
    # END SOLUTION


# %%
result = check("ranknet_loss", ranknet_loss)
