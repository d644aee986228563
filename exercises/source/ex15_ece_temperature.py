# exercise: ece_temperature
# function: ece_temperature
# practises: 20_cross_encoder_evaluation — calibration (Day 10.2 §5.1)
# title: Expected calibration error after temperature scaling

# %% [markdown]
# # Exercise 15 — Expected calibration error, and temperature scaling
#
# **Practises:** notebook `20_cross_encoder_evaluation`, Day 10.2 §5.1 (cross-encoder evaluation metrics).
#
# A cross-encoder's logit z becomes a relevance probability p = σ(z / T). **Calibrated** means: among the pairs
# given p ≈ 0.8, 80 % are relevant. The **expected calibration error** (Naeini, Cooper & Hauskrecht, 2015; Guo,
# Pleiss, Sun & Weinberger, 2017, "On Calibration of Modern Neural Networks") bins the probabilities into B
# equal-width bins and averages the gap between accuracy and confidence:
#
# $$\mathrm{ECE} = \sum_{b\,:\,n_b > 0} \frac{n_b}{n}\,\Big|\ \underbrace{\tfrac{1}{n_b}\textstyle\sum_{i \in b} y_i}_{\text{accuracy}}
#   - \underbrace{\tfrac{1}{n_b}\textstyle\sum_{i \in b} p_i}_{\text{confidence}}\ \Big|$$
#
# Bin b holds p ∈ (b/B, (b+1)/B], and the first bin also holds p = 0 — scikit-learn's uniform binning, i.e.
# `b = np.searchsorted(np.linspace(0, 1, B + 1)[1:-1], p)`. **Temperature scaling** divides every logit by one
# scalar T > 0 (fitted on held-out pairs by minimising the NLL, `lessonlib.evaluation.calibration.fit_temperature`): T > 1
# softens over-confident probabilities; the ranking never changes.
#
# Write `ece_temperature(logits, labels, temperature=1.0, n_bins=10)` → the ECE (a float) of σ(logits / T)
# against the 0/1 `labels` (numpy arrays).
# `check("ece_temperature", ece_temperature)` compares with `lessonlib.evaluation.calibration` (`apply_temperature`,
# `expected_calibration_error`) on named hidden cases: several temperatures and bin counts, "p = 0.5 exactly, on a
# bin edge", "probabilities on and around a bin edge", "p = 0 and p = 1", "one bin", "a single pair". While your
# function runs, the calibration functions (`apply_temperature`, `expected_calibration_error`, `reliability_bins`,
# `sigmoid`) cannot be called: the check stops them ("... is not available during this check"), because this
# exercise asks you to write it yourself. A failing case is shown by its name, with its inputs (summarised when
# large), the expected and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def ece_temperature(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0, n_bins: int = 10) -> float:
    # BEGIN SOLUTION
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))
    y = np.asarray(labels, dtype=np.float64)
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p)
    ece = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            ece += inside.sum() / len(p) * abs(y[inside].mean() - p[inside].mean())
    return float(ece)
    # END SOLUTION


# %%
result = check("ece_temperature", ece_temperature)
