"""Exercise 15 (20_cross_encoder_evaluation §5.1): expected calibration error after temperature scaling."""

from __future__ import annotations

import numpy as np

from lessonlib.evaluation import calibration
from lessonlib.evaluation.calibration import apply_temperature, expected_calibration_error
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n, scale, temperature, n_bins, name in [(50, 1.0, 1.0, 10, "50 pairs, T = 1"), (200, 4.0, 1.0, 10, "over-confident logits, T = 1"),
                                                (200, 4.0, 2.5, 10, "over-confident logits, T = 2.5"),
                                                (300, 0.5, 0.5, 15, "T < 1 sharpens, 15 bins"), (100, 2.0, 1.7, 5, "5 bins"),
                                                (1, 1.0, 1.0, 10, "a single pair")]:
        logits = rng.normal(size=n) * scale
        labels = (rng.random(n) < 1 / (1 + np.exp(-logits / 2))).astype(np.int64)  # over-confident logits
        out.append(Case(name, {"logits": logits, "labels": labels, "temperature": temperature, "n_bins": n_bins}))
    out.append(Case("p = 0.5 exactly, on a bin edge", {"logits": np.zeros(6), "labels": np.array([1, 0, 1, 1, 0, 0]), "temperature": 3.0, "n_bins": 10}))
    out.append(Case("p = 0 and p = 1", {"logits": np.array([-50.0, 50.0, 40.0, -40.0]), "labels": np.array([0, 1, 0, 0]),
                                        "temperature": 1.0, "n_bins": 10}))
    out.append(Case("probabilities on and around a bin edge", {"logits": np.array([0.0, 0.0, 0.2, -0.2]), "labels": np.array([1, 1, 0, 0]),
                                                              "temperature": 1.0, "n_bins": 10}))
    out.append(Case("one bin", {"logits": np.array([2.0, 2.0, 2.0]), "labels": np.array([1, 1, 1]), "temperature": 1.0, "n_bins": 1}))
    return out


def reference(logits, labels, temperature=1.0, n_bins=10):
    return expected_calibration_error(apply_temperature(logits, temperature), labels, n_bins)


def _ece(p, labels, n_bins, right_closed=True, skip_empty=True, unweighted=False):
    edges = np.linspace(0, 1, n_bins + 1)[1:-1]
    bins = np.searchsorted(edges, p, side="left" if right_closed else "right")
    total, used = 0.0, 0
    for b in range(n_bins):
        inside = bins == b
        if not inside.any():
            continue
        used += 1
        gap = abs(labels[inside].mean() - p[inside].mean())
        total += gap if unweighted else inside.sum() / len(p) * gap
    return float(total / used) if unweighted and used else float(total)


def _p(logits, temperature):
    return 1 / (1 + np.exp(-np.asarray(logits, np.float64) / temperature))


def wrong_one_global_bin(logits, labels, temperature=1.0, n_bins=10):
    return float(abs(np.mean(labels) - np.mean(_p(logits, temperature))))


def wrong_multiplies_by_temperature(logits, labels, temperature=1.0, n_bins=10):
    return _ece(1 / (1 + np.exp(-np.asarray(logits, np.float64) * temperature)), labels, n_bins)


def wrong_unweighted_bins(logits, labels, temperature=1.0, n_bins=10):
    return _ece(_p(logits, temperature), labels, n_bins, unweighted=True)


def wrong_left_closed_bins(logits, labels, temperature=1.0, n_bins=10):
    return _ece(_p(logits, temperature), labels, n_bins, right_closed=False)


register(ExerciseCheck(
    id="ece_temperature", title="Expected calibration error after temperature scaling",
    practises="20_cross_encoder_evaluation — calibration (Day 10.2 §5.1)",
    cases=cases, reference=reference,
    hint="p = sigmoid(logit / T); bin b = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p) (bins "
         "(b/B, (b+1)/B], 0 in the first); ECE = sum over NON-EMPTY bins of n_b / n * |mean(label) - mean(p)|.",
    wrong={
        "you compared the MEAN label with the MEAN probability over all pairs: ECE bins the probabilities first.":
            wrong_one_global_bin,
        "temperature scaling DIVIDES the logits by T (T > 1 softens, T < 1 sharpens).": wrong_multiplies_by_temperature,
        "weight each bin's gap by its share of the pairs, n_b / n (a plain mean over bins lets a nearly empty bin dominate).":
            wrong_unweighted_bins,
        "bins are closed on the RIGHT, (b/B, (b+1)/B]: a probability exactly on an edge goes to the lower bin "
        "(np.searchsorted with its default side='left').": wrong_left_closed_bins,
    },
    blocks=(expected_calibration_error, apply_temperature, calibration.reliability_bins, calibration.ReliabilityBins,
            calibration.sigmoid, calibration.reliability_diagram),
    atol=1e-9,
))
