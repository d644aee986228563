"""Per-prediction confidence of a re-ranker, and whether that confidence predicts being right.

A metric's confidence interval (``lessonlib.evaluation.significance``) says how sure we are of the
*average*; this module scores each *prediction*:

* **MC dropout** (Gal & Ghahramani 2016, "Dropout as a Bayesian approximation"): keep dropout on
  at inference and run T stochastic forward passes; a pair's score is the mean
  ``mu = (1/T) sum_t s_t`` and its uncertainty the standard deviation ``sigma`` of the ``s_t``.
  A deep ensemble (Lakshminarayanan et al. 2017) is the same read-out over independently trained
  models instead of dropout masks (``spread``).
* **Calibrated probability**: ``p = sigmoid(z / T)`` (``lessonlib.evaluation.calibration``); the
  decision "relevant iff p > 1/2" has confidence ``max(p, 1 - p)``.
* **Does confidence predict correctness?** ``auroc(confidence, correct)``: the probability that a
  random correct prediction is more confident than a random wrong one (Mann-Whitney U /
  (n_correct x n_wrong), ties count 1/2); 0.5 = confidence is useless. ``selective_curve``: keep
  only the most confident share ``c`` of the queries (coverage) and report their mean metric
  (risk-coverage curves, El-Yaniv & Wiener 2010; Geifman & El-Yaniv 2017); a useful confidence
  gives a curve that falls as coverage grows, a useless one a flat line at the overall mean.

Notebook 20 ("Per-prediction confidence") measures both on the trained cross-encoder.

>>> auroc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import rankdata

from lessonlib.core.runs import ranked
from lessonlib.core.trainer import set_dropout


# ------------------------------------------------------------------------------ MC dropout
@dataclass
class Spread:
    """T stochastic scores per pair: ``samples`` (T, n); ``mean`` and ``std`` (n,) over the T passes."""

    samples: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        return self.samples.std(axis=0, ddof=1) if len(self.samples) > 1 else np.zeros(self.samples.shape[1])


def spread(score_sets: Sequence[Sequence[float]]) -> Spread:
    """Stack the scores of the same n pairs from several models (a deep ensemble) or passes: (T, n)."""
    s = np.asarray(score_sets, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"spread: expected (T >= 2, n) scores, got shape {s.shape}")
    return Spread(s)


@torch.no_grad()
def mc_dropout_scores(ce, pairs: Sequence[tuple[str, str]], passes: int = 8, p: float | None = None,
                      seed: int = 0, batch_size: int = 32) -> Spread:
    """Scores of ``pairs`` from ``passes`` forward passes of cross-encoder ``ce`` with dropout ON.

    ``ce`` is a ``lessonlib.cross.CrossEncoder`` (``encode_pairs``, ``forward``, ``.model``); pairs
    are read truncated to ``ce.max_length`` (no windows). ``p`` sets every ``nn.Dropout`` to that
    rate for the passes (None keeps the model's training rates); the rates and the train/eval mode
    are restored afterwards. The masks come from ``torch.manual_seed(seed)``: same seed, same scores.
    Shapes: ``pairs`` n -> ``Spread.samples`` (passes, n).
    """
    if passes < 2:
        raise ValueError(f"mc_dropout_scores(passes={passes}): need >= 2 passes")
    if not pairs:
        raise ValueError("mc_dropout_scores(pairs=[]): no pairs")
    model = ce.model
    previous = set_dropout(model, p) if p is not None else None
    rates = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    if not any(r > 0 for r in rates):
        if previous is not None:
            _restore_dropout(model, previous)
        raise ValueError("mc_dropout_scores: the model has no dropout > 0; pass p (e.g. 0.1)")
    was_training = model.training
    model.train()
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    out = np.zeros((passes, len(pairs)), dtype=np.float64)
    try:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start: start + batch_size]
            feats = ce.encode_pairs([q for q, _ in chunk], [d for _, d in chunk])
            for t in range(passes):
                out[t, start: start + len(chunk)] = ce(**feats).float().cpu().numpy()
    finally:
        model.train(was_training)
        torch.random.set_rng_state(generator_state)
        if previous is not None:
            _restore_dropout(model, previous)
    return Spread(out)


def _restore_dropout(model: torch.nn.Module, rates: list[float]) -> None:
    for module, rate in zip((m for m in model.modules() if isinstance(m, torch.nn.Dropout)), rates):
        module.p = rate


# ------------------------------------------------------------------------------ does confidence predict correctness?
def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve of ``scores`` for 0/1 ``labels``: U / (n1 x n0), ties averaged.

    Equals scikit-learn's ``roc_auc_score``. Raises ValueError when only one class is present.
    """
    s, y = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"auroc: {s.shape[0]} scores but {y.shape[0]} labels")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("auroc: labels must be 0 or 1")
    n1, n0 = int(y.sum()), int((1 - y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError(f"auroc: need both classes, got {n1} positives and {n0} negatives")
    r = rankdata(s)  # average ranks for ties
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def decision_confidence(probs: Sequence[float]) -> np.ndarray:
    """Confidence of the decision "relevant iff p > 1/2": max(p, 1 - p), in [0.5, 1]."""
    p = np.asarray(probs, dtype=np.float64)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("decision_confidence: probs must lie in [0, 1]")
    return np.maximum(p, 1 - p)


def top_k_mean(values: Mapping[str, Mapping[str, float]], order: Mapping[str, Mapping[str, float]],
               k: int = 10) -> dict[str, float]:
    """Per query: the mean of ``values[q][d]`` over the top ``k`` documents of ``order[q]`` (trec_eval's order).

    E.g. ``values`` = MC-dropout standard deviations, ``order`` = the re-ranker's scores: how unsure
    the model is about the documents it shows first.
    """
    if k < 1:
        raise ValueError(f"top_k_mean(k={k}): k must be >= 1")
    out = {}
    for q, docs in order.items():
        top = [d for d, _ in ranked(docs, k) if d in values.get(q, {})]
        if top:
            out[q] = float(np.mean([values[q][d] for d in top]))
    return out


@dataclass
class SelectiveCurve:
    """Mean metric of the most confident queries at each coverage (share of queries kept)."""

    coverage: np.ndarray  # (m,)
    value: np.ndarray  # (m,) mean metric over the kept queries
    kept: np.ndarray  # (m,) number of queries kept

    @property
    def area(self) -> float:
        """Mean of ``value`` over the coverage grid (higher = confidence sorts good queries first)."""
        return float(np.mean(self.value))


def selective_curve(metric: Mapping[str, float], confidence: Mapping[str, float],
                    coverages: Sequence[float] | None = None) -> SelectiveCurve:
    """Keep the ``ceil(c x n)`` most confident queries (confidence desc, then query id desc) for each
    coverage c and average their ``metric``; queries in only one mapping are dropped.

    >>> selective_curve({"a": 1.0, "b": 0.0}, {"a": 0.9, "b": 0.1}, [0.5, 1.0]).value
    array([1. , 0.5])
    """
    qs = [q for q in metric if q in confidence]
    if not qs:
        raise ValueError("selective_curve: metric and confidence share no query")
    cov = np.linspace(0.1, 1.0, 10) if coverages is None else np.asarray(coverages, dtype=np.float64)
    if np.any((cov <= 0) | (cov > 1)):
        raise ValueError(f"selective_curve(coverages={list(cov)}): each must be in (0, 1]")
    order = [q for q, _ in ranked({q: float(confidence[q]) for q in qs})]
    values = np.array([metric[q] for q in order], dtype=np.float64)
    kept = np.array([max(1, math.ceil(c * len(order) - 1e-9)) for c in cov])
    return SelectiveCurve(cov, np.array([values[:n].mean() for n in kept]), kept)
