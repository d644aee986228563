# exercise: margin_mse_step
# function: margin_mse_step
# practises: 04_advanced_training — knowledge distillation (Day 10.1 §2.3)
# title: One Margin-MSE distillation step: loss and gradient

# %% [markdown]
# # Exercise 16 — One Margin-MSE distillation step: the loss and its gradient
#
# **Practises:** notebook `04_advanced_training`, Day 10.1 §2.3 (knowledge distillation from a cross-encoder).
#
# **Margin-MSE** (Hofstätter et al., 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture
# Knowledge Distillation") trains a student (a dual encoder) to reproduce the teacher's (a cross-encoder's)
# **margin** between the positive and each negative, not its absolute scores — the two models' scores live on
# different scales. For B queries with n negatives each:
#
# $$\Delta_{ij} = (s^{+}_i - s^{-}_{ij}) - (t^{+}_i - t^{-}_{ij}), \qquad
#   \mathcal{L} = \frac{1}{B\,n}\sum_{i,j} \Delta_{ij}^2$$
#
# Write `margin_mse_step(student_pos (B,), student_neg (B, n), teacher_pos (B,), teacher_neg (B, n))` (numpy
# float64) returning `{"loss": float, "grad_pos": (B,), "grad_neg": (B, n)}` where the gradients are
# ∂L/∂s⁺ and ∂L/∂s⁻ — derive them by hand (no autograd): they are what back-propagation sends into the student.
#
# `check("margin_mse_step", margin_mse_step)` compares with autograd through `lessonlib.losses.MarginMSELoss` on
# named hidden cases: "one query, one negative", "more negatives than queries", "same margins as the teacher
# (shifted scores): loss 0", "all-zero student, all-one teacher". While your function runs, `MarginMSELoss` and
# `losses.ranking.margin_mse` cannot be called: the check stops them ("... is not available during this check"),
# because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def margin_mse_step(student_pos: np.ndarray, student_neg: np.ndarray, teacher_pos: np.ndarray,
                    teacher_neg: np.ndarray) -> dict:
    # BEGIN SOLUTION
    diff = (student_pos[:, None] - student_neg) - (teacher_pos[:, None] - teacher_neg)  # (B, n)
    count = diff.size
    return {"loss": float((diff**2).mean()), "grad_pos": 2 * diff.sum(axis=1) / count, "grad_neg": -2 * diff / count}
    # END SOLUTION


# %%
result = check("margin_mse_step", margin_mse_step)
