# exercise: infonce_loss
# function: infonce_loss
# practises: 02_contrastive_training — InfoNCE and the temperature (Day 10.1 §2.1-2.2)
# title: InfoNCE with a temperature and in-batch negatives

# %% [markdown]
# # Exercise 2 — InfoNCE with a temperature and in-batch negatives
#
# **Practises:** notebook `02_contrastive_training`, Day 10.1 §2.1–2.2 (contrastive learning, loss functions).
#
# A batch holds B queries `q` (B, d) and their positives `pos` (B, d), and optionally n hard negatives per query
# `neg` (B, n, d). Every query must pick its own positive among all candidates of the batch: the B positives
# (the other queries' positives are the **in-batch negatives**) followed by all B·n hard negatives (shared by
# every query, as in sentence-transformers' MultipleNegativesRankingLoss):
#
# $$\mathcal{L} = -\frac{1}{B}\sum_{i=1}^{B} \log \frac{\exp(\cos(q_i, p_i)/\tau)}{\sum_{c \in C} \exp(\cos(q_i, c)/\tau)}$$
#
# with temperature τ > 0 (small τ: a sharp softmax that focuses on the hardest negatives).
# Papers: van den Oord, Li & Vinyals (2018), "Representation Learning with Contrastive Predictive Coding";
# Karpukhin et al. (2020), DPR (in-batch negatives); Chen et al. (2020), SimCLR (temperature).
#
# Write `infonce_loss(q, pos, neg=None, temperature=0.05)` returning a scalar torch tensor.
# `check("infonce_loss", infonce_loss)` compares with `lessonlib.losses.InfoNCELoss` on named hidden cases: "batch
# of 1, no hard negatives", in-batch negatives only, one to three hard negatives per query, "temperature 1", "all
# candidates tied (identical rows)", "large query vectors (cosine is scale-free)". While your function runs,
# `InfoNCELoss` (and `MultipleNegativesRankingLoss`) cannot be called: the check stops them ("... is not available
# during this check"), because this exercise asks you to write it yourself. A failing case is shown by its name,
# with its inputs (summarised when large), the expected and your output, and a hint, the specific one when your
# output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def infonce_loss(q: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor | None = None,
                 temperature: float = 0.05) -> torch.Tensor:
    # BEGIN SOLUTION
    candidates = pos if neg is None else torch.cat([pos, neg.reshape(-1, neg.shape[-1])])
    logits = F.normalize(q, dim=-1) @ F.normalize(candidates, dim=-1).T / temperature  # (B, B + B*n)
    return F.cross_entropy(logits, torch.arange(q.shape[0]))
    # END SOLUTION


# %%
result = check("infonce_loss", infonce_loss)
