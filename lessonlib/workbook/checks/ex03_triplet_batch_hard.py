"""Exercise 3 (02_contrastive_training §2.2): triplet loss with batch-hard mining."""

from __future__ import annotations

import numpy as np

from lessonlib.losses import BatchHardTripletLoss, TripletLoss
from lessonlib.losses.triplet import mine_triplets
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for b, d, classes, margin, name in [(6, 4, 3, 0.5, "6 points in 3 classes"), (8, 8, 2, 1.0, "8 points in 2 classes"),
                                        (10, 5, 4, 0.2, "10 points in 4 classes"), (12, 16, 6, 5.0, "a large margin"),
                                        (5, 3, 2, 0.0, "margin 0")]:
        labels = rng.permutation(np.arange(b) % classes)
        emb = rng.normal(size=(b, d)) + 2 * rng.normal(size=(classes, d))[labels]
        out.append(Case(name, {"embeddings": tensor(emb), "labels": tensor(labels.astype(np.int64)), "margin": margin}))
    e = rng.normal(size=(4, 3))
    out.append(Case("one class only: no negatives, loss 0", {"embeddings": tensor(e), "labels": tensor(np.array([0, 0, 0, 0])), "margin": 0.5}))
    out.append(Case("all labels distinct: no positives, loss 0", {"embeddings": tensor(e), "labels": tensor(np.array([0, 1, 2, 3])), "margin": 0.5}))
    out.append(Case("anchors without a positive are skipped", {"embeddings": tensor(e), "labels": tensor(np.array([0, 0, 1, 2])), "margin": 0.5}))
    out.append(Case("a lone anchor close to a negative",
                    {"embeddings": tensor(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.1, 0.0, 0.0], [5.0, 5.0, 5.0]])),
                     "labels": tensor(np.array([0, 0, 1, 2])), "margin": 0.5}))
    twin = rng.normal(size=(1, 3))
    out.append(Case("duplicate points: distance 0 to a negative",
                    {"embeddings": tensor(np.concatenate([twin, twin, twin + 1, twin + 1])), "labels": tensor(np.array([0, 1, 0, 1])),
                     "margin": 0.3}))
    return out


def reference(embeddings, labels, margin=0.5):
    return TripletLoss(margin=margin, mining="batch_hard", distance="l2")(embeddings, labels=labels)


def _hardest(embeddings, labels, squared=False):
    import torch

    dist = torch.cdist(embeddings, embeddings) ** (2 if squared else 1)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos = dist.masked_fill(~(same & ~eye), float("-inf")).max(1).values
    neg = dist.masked_fill(same, float("inf")).min(1).values
    keep = torch.isfinite(pos) & torch.isfinite(neg)
    return pos, neg, keep, dist, same


def wrong_self_as_positive(embeddings, labels, margin=0.5):
    import torch

    _, neg, _, dist, same = _hardest(embeddings, labels)
    pos = dist.masked_fill(~same, float("-inf")).max(1).values  # the anchor counts as its own positive
    keep = torch.isfinite(neg)
    return torch.relu(pos - neg + margin)[keep].mean() if keep.any() else embeddings.sum() * 0


def wrong_averages_over_all_anchors(embeddings, labels, margin=0.5):
    import torch

    pos, neg, keep, _, _ = _hardest(embeddings, labels)
    losses = torch.where(keep, torch.relu(pos - neg + margin), torch.zeros_like(pos))
    return losses.mean()


def wrong_squared_distances(embeddings, labels, margin=0.5):
    import torch

    pos, neg, keep, _, _ = _hardest(embeddings, labels, squared=True)
    return torch.relu(pos - neg + margin)[keep].mean() if keep.any() else embeddings.sum() * 0


def wrong_easiest(embeddings, labels, margin=0.5):
    import torch

    _, _, keep, dist, same = _hardest(embeddings, labels)
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos = dist.masked_fill(~(same & ~eye), float("inf")).min(1).values  # the CLOSEST positive
    neg = dist.masked_fill(same, float("-inf")).max(1).values  # the FARTHEST negative
    return torch.relu(pos - neg + margin)[keep].mean() if keep.any() else embeddings.sum() * 0


register(ExerciseCheck(
    id="batch_hard_triplet_loss", title="Triplet loss with batch-hard mining",
    practises="02_contrastive_training — triplet loss and mining (Day 10.1 §2.2)",
    cases=cases, reference=reference,
    hint="D = Euclidean distance matrix; for each anchor: hardest positive = max D over rows with the same "
         "label (not itself), hardest negative = min D over rows with another label; loss = mean over anchors "
         "that HAVE both of relu(d_ap - d_an + margin); no such anchor -> 0.",
    wrong={
        "an anchor is not its own positive: exclude the diagonal when you look for the hardest positive.": wrong_self_as_positive,
        "average only over anchors that HAVE a positive and a negative (the others are skipped, not counted as 0).":
            wrong_averages_over_all_anchors,
        "use the Euclidean distance, not its square.": wrong_squared_distances,
        "batch-HARD mining takes the FARTHEST positive and the CLOSEST negative (you took the easiest ones).": wrong_easiest,
    },
    blocks=(TripletLoss, BatchHardTripletLoss, mine_triplets),
    atol=1e-6,
))
