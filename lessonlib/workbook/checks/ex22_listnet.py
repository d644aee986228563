"""Exercise 22 (15_training_monobert §3.2): ListNet, a listwise loss with label smoothing."""

from __future__ import annotations

import numpy as np

from lessonlib.losses.ranking import listnet, softmax_ce
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, b, n, grades, eps in [("one query, 1 positive + 3 negatives", 1, 4, 2, 0.0),
                                    ("4 queries of 8 candidates, binary labels", 4, 8, 2, 0.0),
                                    ("graded labels 0-3", 3, 6, 4, 0.0),
                                    ("label smoothing 0.1", 3, 5, 3, 0.1),
                                    ("label smoothing 1.0: a uniform target", 2, 4, 2, 1.0)]:
        labels = rng.integers(0, grades, size=(b, n)).astype(np.float64)
        labels[:, 0] = 1.0  # at least one relevant candidate per list
        out.append(Case(name, {"scores": tensor(rng.normal(size=(b, n)) * 2), "labels": tensor(labels), "label_smoothing": eps}))
    out.append(Case("all labels 0: softmax(0) is uniform, not an error",
                    {"scores": tensor(rng.normal(size=(2, 5))), "labels": tensor(np.zeros((2, 5))), "label_smoothing": 0.0}))
    out.append(Case("tied scores: log softmax = -log n for every candidate",
                    {"scores": tensor(np.full((1, 4), 3.0)), "labels": tensor(np.array([[2.0, 0, 1, 0]])), "label_smoothing": 0.0}))
    out.append(Case("lists of one candidate: loss 0",
                    {"scores": tensor(rng.normal(size=(3, 1))), "labels": tensor(np.array([[1.0], [0.0], [3.0]])), "label_smoothing": 0.0}))
    out.append(Case("scores of +-1000: log_softmax, not log(softmax)",
                    {"scores": tensor(np.array([[900.0, -900.0, 0.0], [0.0, 0.0, 1000.0]])),
                     "labels": tensor(np.array([[0.0, 1, 0], [1.0, 0, 0]])), "label_smoothing": 0.0}))
    return out


def reference(scores, labels, label_smoothing=0.0):
    return listnet(scores, labels, label_smoothing)


def _loss(scores, labels, label_smoothing, target="softmax", reduce="mean", naive_log=False):
    import torch
    import torch.nn.functional as F

    y, n = labels.to(scores.dtype), scores.shape[1]
    if target == "softmax":
        p = F.softmax(y, dim=1)
    elif target == "normalised":
        p = y / y.sum(1, keepdim=True).clamp_min(1e-12)
    else:  # smooth the labels before the softmax
        p = F.softmax((1 - label_smoothing) * y, dim=1)
    if target != "smooth_labels":
        p = (1 - label_smoothing) * p + label_smoothing / n
    log_q = torch.log(F.softmax(scores, dim=1)) if naive_log else F.log_softmax(scores, dim=1)
    per_list = -(p * log_q).sum(1)
    return per_list.mean() if reduce == "mean" else per_list.sum()


def wrong_normalised_labels(scores, labels, label_smoothing=0.0):
    return _loss(scores, labels, label_smoothing, target="normalised")


def wrong_sum_over_queries(scores, labels, label_smoothing=0.0):
    return _loss(scores, labels, label_smoothing, reduce="sum")


def wrong_smooths_the_labels(scores, labels, label_smoothing=0.0):
    return _loss(scores, labels, label_smoothing, target="smooth_labels")


def wrong_log_of_softmax(scores, labels, label_smoothing=0.0):
    return _loss(scores, labels, label_smoothing, naive_log=True)


register(ExerciseCheck(
    id="listnet_loss", title="ListNet: a listwise loss with label smoothing",
    practises="15_training_monobert — 2 · Objectives: pointwise, pairwise, listwise (Day 10.2 §3.2)",
    cases=cases, reference=reference,
    hint="target = softmax(labels) along each list, then (1 - eps) * target + eps / n; loss per list = "
         "-sum_j target_j * log_softmax(scores)_j; average over the B lists.",
    wrong={
        "ListNet's target is softmax(labels), not labels / sum(labels) (that is the listwise softmax CE's target, "
        "which gives the non-relevant documents nothing).": wrong_normalised_labels,
        "average the per-list losses over the B queries, do not sum them.": wrong_sum_over_queries,
        "smooth the target DISTRIBUTION, (1 - eps) * softmax(labels) + eps / n, not the labels inside the softmax.":
            wrong_smooths_the_labels,
        "log(softmax(s)) underflows to log 0 = -inf for scores far apart: use log_softmax.": wrong_log_of_softmax,
    },
    blocks=(listnet, softmax_ce),
    atol=1e-6,
))
