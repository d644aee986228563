# exercise: kl_distillation_loss
# function: kl_distillation_loss
# practises: 04_advanced_training — 2. Distillation from a teacher: Margin-MSE and KL (Day 10.1 §2.3)
# title: KL distillation: match the teacher's softmax over the candidates

# %% [markdown]
# # Exercise 21 — KL distillation: match the teacher's distribution over each query's candidates
#
# **Practises:** notebook `04_advanced_training`, section "2. Distillation from a teacher: Margin-MSE and KL" —
# Day 10.1 §2.3 (knowledge distillation).
#
# Margin-MSE (exercise 16) copies one margin at a time; **KL distillation** copies the teacher's whole ranking
# distribution over a query's N candidates. Teacher scores t (a cross-encoder) and student scores s (a dual
# encoder) are turned into softmaxes at a temperature T, and the student minimises the KL divergence from the
# teacher's distribution to its own:
#
# $$p^T_{ij} = \operatorname{softmax}(t_i / T)_j,\quad \log p^S_{ij} = \operatorname{log\_softmax}(s_i / T)_j,\qquad
#   \mathcal{L} = T^2 \cdot \frac{1}{B}\sum_{i=1}^{B}\sum_{j=1}^{N} p^T_{ij}\,\big(\log p^T_{ij} - \log p^S_{ij}\big)$$
#
# with 0·log 0 = 0. The T² factor keeps the gradients' size comparable across temperatures (Hinton, Vinyals & Dean,
# 2015, "Distilling the Knowledge in a Neural Network"); for dense retrieval, e.g. RocketQAv2 (Ren et al., 2021)
# and TAS-B (Hofstätter et al., 2021). Softmax ignores a shift of all scores, so the teacher's and the student's
# scales may differ.
#
# Write `kl_distillation_loss(student_scores, teacher_scores, temperature)` (torch, (B, N) float64, T > 0) → a
# scalar tensor. Large scores must not overflow: compute log-probabilities with `log_softmax`, never
# `log(softmax(...))`.
#
# `check("kl_distillation_loss", kl_distillation_loss)` compares with `lessonlib.losses.KLDistillationLoss` on named
# hidden cases: temperatures from 0.05 to 3 ("T = 2 softens both distributions (and the loss is scaled by T^2)", "a
# small temperature, T = 0.05: sharp, and no overflow"), "one query, 2 candidates", "the student equals the teacher:
# KL = 0", "the same scores shifted by a constant: softmax ignores shifts, KL = 0", "a teacher whose softmax is
# one-hot (0 log 0 = 0)", "student scores of +-1000: log_softmax, not log(softmax)", "a uniform teacher". While your
# function runs, `KLDistillationLoss` and `lessonlib.losses.ranking.kl_distill` cannot be called: the check stops them
# ("... is not available during this check"), because this exercise asks you to write it yourself. A failing case is
# shown by its name, with its inputs (summarised when large), the expected and your output, and a hint, the specific
# one when your output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def kl_distillation_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor, temperature: float) -> torch.Tensor:
    # BEGIN SOLUTION
    log_p_student = F.log_softmax(student_scores / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_scores / temperature, dim=1)
    p_teacher = log_p_teacher.exp()
    kl = torch.where(p_teacher > 0, p_teacher * (log_p_teacher - log_p_student), 0.0).sum(dim=1)  # 0 log 0 = 0
    return kl.mean() * temperature**2
    # END SOLUTION


# %%
result = check("kl_distillation_loss", kl_distillation_loss)
