"""Exercise 27 (20_cross_encoder_evaluation §5.1): Platt scaling, the maximum-likelihood slope and bias."""

from __future__ import annotations

import numpy as np

from lessonlib.evaluation.calibration import apply_platt, fit_platt, fit_temperature
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _labels(rng: np.random.Generator, z: np.ndarray, a: float, b: float) -> np.ndarray:
    return (rng.random(len(z)) < 1 / (1 + np.exp(-(a * z + b)))).astype(np.int64)


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, n, scale, a, b in [("over-confident scores (true slope 0.4)", 300, 4.0, 0.4, 0.0),
                                 ("under-confident scores (true slope 2.5)", 300, 1.0, 2.5, 0.0),
                                 ("shifted scores: the bias does the work", 400, 2.0, 1.0, -1.5),
                                 ("already calibrated: a ~ 1, b ~ 0", 500, 2.0, 1.0, 0.0),
                                 ("few positives (about 5%)", 400, 1.5, 1.0, -3.5),
                                 ("a small validation set of 20 pairs", 20, 2.0, 0.7, 0.3),
                                 ("cross-encoder logits of size ~10", 300, 10.0, 0.2, 1.0),
                                 ("scores that rank backwards: a < 0", 200, 2.0, -1.2, 0.0)]:
        z = np.round(rng.normal(size=n) * scale, 4)
        y = _labels(rng, z, a, b)
        while y.min() == y.max():  # both classes present
            y = _labels(rng, z, a, b)
        out.append(Case(name, {"scores": z, "labels": y}))
    out.append(Case("scores with two values only", {"scores": np.array([-1.0] * 10 + [1.0] * 10),
                                                    "labels": np.array([0] * 8 + [1] * 2 + [0] * 3 + [1] * 7)}))
    return out


def reference(scores, labels):
    return fit_platt(scores, labels)


def _newton(scores, targets, fit_a=True, fit_b=True):
    """Minimise the NLL of sigmoid(a s + b) against ``targets`` over the free parameters (the others: a = 1, b = 0)."""
    feats = np.column_stack([np.asarray(scores, dtype=np.float64), np.ones(len(scores))])
    t = np.asarray(targets, dtype=np.float64)
    free = [i for i, f in enumerate((fit_a, fit_b)) if f]

    def nll(w):
        z = feats.dot(w)
        return float(np.mean(np.logaddexp(0.0, z) - t * z))

    w = np.array([1.0, 0.0])
    for _iteration in range(100):
        prob = 1.0 / (1.0 + np.exp(-feats.dot(w)))
        direction = np.zeros(2)
        curvature = (feats.T.dot(feats * (prob * (1.0 - prob))[:, None]))[np.ix_(free, free)]
        direction[free] = np.linalg.lstsq(curvature, feats.T.dot(prob - t)[free], rcond=None)[0]
        size = 1.0
        while nll(w - size * direction) > nll(w) and size > 1e-10:
            size /= 2
        w = w - size * direction
    slope, bias = w
    return float(slope), float(bias)


def wrong_smoothed_targets(scores, labels):
    y = np.asarray(labels, float)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    return _newton(scores, np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)))


def wrong_slope_only(scores, labels):
    return _newton(scores, labels, fit_b=False)


def wrong_bias_only(scores, labels):
    return _newton(scores, labels, fit_a=False)


register(ExerciseCheck(
    id="platt_scaling", title="Platt scaling: fit the slope and bias of sigmoid(a·s + b) on validation scores",
    practises="20_cross_encoder_evaluation — Calibration (Day 10.2 §5.1)",
    cases=cases, reference=reference,
    hint="minimise the mean binary cross-entropy of sigmoid(a*s + b) against the 0/1 labels over BOTH a and b: Newton "
         "steps w -= solve(H, grad) with X = [s, 1], grad = X^T (p - y), H = X^T diag(p(1-p)) X, until the step is "
         "below 1e-12.",
    wrong={
        "fit the 0/1 labels themselves (maximum likelihood, as the library and scikit-learn do), not Platt's smoothed "
        "targets (N+ + 1)/(N+ + 2) and 1/(N- + 2).": wrong_smoothed_targets,
        "you fitted the slope with b fixed at 0 (that is temperature scaling, T = 1/a): fit the bias b too.":
            wrong_slope_only,
        "you fitted only the bias: fit the slope a too.": wrong_bias_only,
    },
    blocks=(fit_platt, apply_platt, fit_temperature),
    atol=1e-4,
))
