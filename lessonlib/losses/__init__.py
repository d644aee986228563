"""Training losses for dual encoders, computed on embeddings (torch tensors), one module per loss.

| name | module | inputs |
| --- | --- | --- |
| ``infonce`` | :mod:`.infonce` | q (B, d), pos (B, d), [neg (B, n, d)] |
| ``multiple_negatives`` | :mod:`.multiple_negatives` | q, pos, [neg] |
| ``contrastive`` / ``online_contrastive`` | :mod:`.contrastive` | a, b, label (B,) |
| ``triplet`` (+ batch_all / batch_hard / semi_hard) | :mod:`.triplet` | a, p, n or embeddings + labels |
| ``margin_ranking`` | :mod:`.margin_ranking` | q, pos, neg |
| ``margin_mse`` / ``kl_distillation`` / ``embedding_mse`` | :mod:`.distillation` | see each class |
| ``adaptive_margin_triplet`` | :mod:`.adaptive_margin` | q, pos, neg (B, d), [gap (B,)] |
| ``additive_margin_softmax`` (LaBSE) | :mod:`.translation_ranking` | x, y (B, d): parallel pairs |
| ``temporal_consistency`` | :mod:`.temporal` | a, b (B, d): two versions, [dt (B,)] |

``get("infonce", temperature=0.02)`` builds one by name.
"""

from __future__ import annotations

from torch import nn

from lessonlib.losses.adaptive_margin import AdaptiveMarginTripletLoss
from lessonlib.losses.contrastive import ContrastiveLoss, OnlineContrastiveLoss
from lessonlib.losses.distillation import EmbeddingMSELoss, KLDistillationLoss, MarginMSELoss, candidate_scores
from lessonlib.losses.infonce import InfoNCELoss
from lessonlib.losses.margin_ranking import MarginRankingLoss
from lessonlib.losses.multiple_negatives import MultipleNegativesRankingLoss
from lessonlib.losses.temporal import TemporalConsistencyLoss
from lessonlib.losses.translation_ranking import AdditiveMarginSoftmaxLoss
from lessonlib.losses.triplet import (
    BatchAllTripletLoss,
    BatchHardTripletLoss,
    BatchSemiHardTripletLoss,
    TripletLoss,
    Triplets,
    mine_triplets,
)

REGISTRY: dict[str, type[nn.Module]] = {
    "infonce": InfoNCELoss,
    "multiple_negatives": MultipleNegativesRankingLoss,
    "mnrl": MultipleNegativesRankingLoss,
    "contrastive": ContrastiveLoss,
    "online_contrastive": OnlineContrastiveLoss,
    "triplet": TripletLoss,
    "batch_all_triplet": BatchAllTripletLoss,
    "batch_hard_triplet": BatchHardTripletLoss,
    "semi_hard_triplet": BatchSemiHardTripletLoss,
    "margin_ranking": MarginRankingLoss,
    "margin_mse": MarginMSELoss,
    "kl_distillation": KLDistillationLoss,
    "embedding_mse": EmbeddingMSELoss,
    "adaptive_margin_triplet": AdaptiveMarginTripletLoss,
    "additive_margin_softmax": AdditiveMarginSoftmaxLoss,
    "temporal_consistency": TemporalConsistencyLoss,
}


def available() -> list[str]:
    """The names :func:`get` accepts."""
    return sorted(REGISTRY)


def get(name: str, **kwargs) -> nn.Module:
    """Build a loss by name (case-insensitive; ``-`` and ``_`` alike, class names accepted too).

    Example:
        >>> get("infonce", temperature=0.02)
        InfoNCELoss(temperature=0.02, symmetric=False, similarity='cosine')
    """
    key = name.strip().lower().replace("-", "_")
    by_class = {cls.__name__.lower(): cls for cls in REGISTRY.values()}
    cls = REGISTRY.get(key) or by_class.get(key)
    if cls is None:
        raise ValueError(f"losses.get(name={name!r}): unknown loss; expected one of {available()}")
    return cls(**kwargs)


__all__ = [
    "AdaptiveMarginTripletLoss",
    "AdditiveMarginSoftmaxLoss",
    "BatchAllTripletLoss",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "ContrastiveLoss",
    "EmbeddingMSELoss",
    "InfoNCELoss",
    "KLDistillationLoss",
    "MarginMSELoss",
    "MarginRankingLoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "TemporalConsistencyLoss",
    "TripletLoss",
    "Triplets",
    "available",
    "candidate_scores",
    "get",
    "mine_triplets",
]
