# exercise: platt_scaling
# function: platt_scaling
# practises: 20_cross_encoder_evaluation — Calibration (Day 10.2 §5.1)
# title: Platt scaling: fit the slope and bias of sigmoid(a·s + b) on validation scores

# %% [markdown]
# # Exercise 27 — Platt scaling: fit sigmoid(a·s + b) to validation labels
#
# **Practises:** notebook `20_cross_encoder_evaluation`, section "Calibration" — Day 10.2 §5.1 (calibration and
# confidence).
#
# A cross-encoder's score s is a logit on no particular scale; a listwise loss even leaves its zero point free. To
# read it as P(relevant), fit a **slope and a bias** on held-out (score, label) pairs (Platt, 1999, "Probabilistic
# Outputs for Support Vector Machines and Comparisons to Regularized Likelihood Methods"): maximise the likelihood of
# the labels y ∈ {0, 1}, i.e. minimise
#
# $$\mathcal{L}(a, b) = -\frac{1}{n}\sum_{i=1}^{n} \Big[y_i \log \sigma(a s_i + b) + (1 - y_i)\log\big(1 - \sigma(a s_i + b)\big)\Big],
#   \qquad \sigma(z) = \frac{1}{1 + e^{-z}} .$$
#
# This is a logistic regression with one feature. Its loss is convex, and **Newton's method** finds the minimum in a
# few steps: with features xᵢ = (sᵢ, 1) and pᵢ = σ(a sᵢ + b),
#
# $$\nabla = \sum_i (p_i - y_i)\,x_i, \qquad H = \sum_i p_i (1 - p_i)\, x_i x_i^\top, \qquad (a, b) \leftarrow (a, b) - H^{-1}\nabla .$$
#
# Temperature scaling (exercise 15) is the special case b = 0, a = 1/T; with a > 0 the ranking never changes.
# Use the labels as they are (Platt's paper also smooths the targets; the library and scikit-learn do not).
#
# Write `platt_scaling(scores, labels)` (numpy: float scores (n,), 0/1 labels (n,) with both classes present and
# overlapping) → `(a, b)` as floats, to 1e-4.
#
# `check("platt_scaling", platt_scaling)` compares with `lessonlib.evaluation.calibration.fit_platt` on named hidden
# cases: "over-confident scores (true slope 0.4)", "under-confident scores (true slope 2.5)", "shifted scores: the
# bias does the work", "few positives (about 5%)", "a small validation set of 20 pairs", "cross-encoder logits of size
# ~10", "scores that rank backwards: a < 0", "scores with two values only". While your function runs, `fit_platt`,
# `apply_platt` and `fit_temperature` cannot be called: the check stops them ("... is not available during this
# check"), because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def platt_scaling(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    # BEGIN SOLUTION
    x = np.stack([np.asarray(scores, float), np.ones(len(scores))], axis=1)  # features (s, 1)
    y = np.asarray(labels, float)
    w = np.zeros(2)  # (a, b)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y)
        hess = x.T @ (x * (p * (1 - p))[:, None])
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.abs(step).max() < 1e-12:
            break
    return float(w[0]), float(w[1])
    # END SOLUTION


# %%
result = check("platt_scaling", platt_scaling)
