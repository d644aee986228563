# exercise: listnet_loss
# function: listnet_loss
# practises: 15_training_monobert — 2 · Objectives: pointwise, pairwise, listwise (Day 10.2 §3.2)
# title: ListNet: a listwise loss with label smoothing

# %% [markdown]
# # Exercise 22 — ListNet: a listwise loss over each query's candidate list
#
# **Practises:** notebook `15_training_monobert`, section "2 · Objectives: pointwise, pairwise, listwise" —
# Day 10.2 §3.2 (advanced training objectives: listwise ranking).
#
# A pointwise loss (BCE) sees one (query, document) pair at a time, a pairwise one (RankNet, exercise 11) two
# documents of one query; a **listwise** loss sees the whole list. **ListNet** (Cao, Qin, Liu, Tsai & Li, 2007,
# "Learning to Rank: From Pairwise Approach to Listwise Approach") turns both the relevance labels y and the model's
# scores s of a list of n candidates into "top-one" probability distributions with a softmax, and minimises their
# cross-entropy:
#
# $$P_y = \operatorname{softmax}(y), \qquad P'_y = (1-\varepsilon)\,P_y + \frac{\varepsilon}{n}, \qquad
#   \mathcal{L} = -\frac{1}{B}\sum_{i=1}^{B}\sum_{j=1}^{n} P'_{y,ij}\,\log\operatorname{softmax}(s_i)_j$$
#
# with label smoothing ε (ε = 0: none; ε = 1: a uniform target). Unlike the listwise softmax CE of notebook 15
# (target = the relevant documents only, labels / sum of labels), ListNet's target gives every candidate some mass,
# more to higher grades, and a list whose labels are all 0 is a valid (uniform) target.
#
# Write `listnet_loss(scores, labels, label_smoothing=0.0)` (torch, (B, n) float64 each) → a scalar tensor.
#
# `check("listnet_loss", listnet_loss)` compares with `lessonlib.losses.ranking.listnet` on named hidden cases: binary
# and "graded labels 0-3", "label smoothing 0.1", "label smoothing 1.0: a uniform target", "all labels 0: softmax(0)
# is uniform, not an error", "tied scores: log softmax = -log n for every candidate", "lists of one candidate: loss
# 0", "scores of +-1000: log_softmax, not log(softmax)". While your function runs, `listnet` and `softmax_ce` cannot
# be called: the check stops them ("... is not available during this check"), because this exercise asks you to write
# it yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected and your
# output, and a hint, the specific one when your output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def listnet_loss(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    # BEGIN SOLUTION
    target = F.softmax(labels.to(scores.dtype), dim=1)  # the labels' top-one probabilities
    target = (1 - label_smoothing) * target + label_smoothing / scores.shape[1]
    return -(target * F.log_softmax(scores, dim=1)).sum(dim=1).mean()
    # END SOLUTION


# %%
result = check("listnet_loss", listnet_loss)
