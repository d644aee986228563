"""Exercise 11 (15_training_monobert §3.2): the RankNet pairwise loss."""

from __future__ import annotations

import numpy as np

from lessonlib.losses import ranking
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for b, n, grades, name in [(1, 2, 2, "one query, two documents"), (2, 4, 2, "binary labels"), (3, 8, 4, "graded labels"),
                               (4, 5, 3, "graded labels, 4 queries"), (1, 10, 5, "one query, 10 documents")]:
        labels = rng.integers(0, grades, size=(b, n))
        out.append(Case(name, {"scores": tensor(rng.normal(size=(b, n)) * 2), "labels": tensor(labels.astype(np.float64))}))
    out.append(Case("no pair with different labels: loss 0", {"scores": tensor(rng.normal(size=(2, 3))), "labels": tensor(np.zeros((2, 3)))}))
    out.append(Case("tied scores: log 2 per pair", {"scores": tensor(np.ones((1, 4))), "labels": tensor(np.array([[1.0, 0.0, 2.0, 0.0]]))}))
    out.append(Case("large margins (needs softplus)", {"scores": tensor(np.array([[30.0, -30.0, 0.0]])), "labels": tensor(np.array([[0.0, 1.0, 1.0]]))}))
    out.append(Case("pairs counted over the whole batch",
                    {"scores": tensor(np.array([[1.0, 0.0, 0.5], [0.2, 0.1, 0.0]])), "labels": tensor(np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 0.0]]))}))
    return out


def reference(scores, labels):
    return ranking.ranknet(scores, labels)


def _pairs(scores, labels):
    return (labels[:, :, None] > labels[:, None, :]).to(scores.dtype), scores[:, :, None] - scores[:, None, :]


def wrong_sign_flipped(scores, labels):
    import torch.nn.functional as F

    pairs, diff = _pairs(scores, labels)
    return (F.softplus(diff) * pairs).sum() / pairs.sum().clamp_min(1)


def wrong_mean_over_all_pairs(scores, labels):
    import torch.nn.functional as F

    pairs, diff = _pairs(scores, labels)
    return (F.softplus(-diff) * pairs).sum() / pairs.numel()


def wrong_per_query_mean(scores, labels):
    import torch
    import torch.nn.functional as F

    pairs, diff = _pairs(scores, labels)
    per_query = (F.softplus(-diff) * pairs).sum((1, 2)) / pairs.sum((1, 2)).clamp_min(1)
    has = pairs.sum((1, 2)) > 0
    return per_query[has].mean() if has.any() else torch.zeros((), dtype=scores.dtype)


register(ExerciseCheck(
    id="ranknet_loss", title="RankNet pairwise loss",
    practises="15_training_monobert — training objectives (Day 10.2 §3.2)",
    cases=cases, reference=reference,
    hint="over every pair (i, j) of one query with label_i > label_j: log(1 + exp(-(s_i - s_j))) "
         "(use softplus for large margins); divide the sum by the number of such pairs in the WHOLE batch; 0 if none.",
    wrong={
        "the sign is flipped: a pair with label_i > label_j costs log(1 + exp(-(s_i - s_j))), small when s_i >> s_j.":
            wrong_sign_flipped,
        "divide by the number of pairs with label_i > label_j, not by all n*n position pairs.": wrong_mean_over_all_pairs,
        "divide the sum by the number of pairs in the WHOLE batch (not a mean of per-query means).": wrong_per_query_mean,
    },
    blocks=(ranking.ranknet, ranking.lambda_loss, ranking.get_loss, ranking.mix),
    atol=1e-6,
))
