"""Calibration of relevance probabilities: Brier score, ECE, reliability bins, temperature scaling.

A cross-encoder's logit ``z`` becomes a probability ``p = sigmoid(z / T)``. Calibrated means: of
the pairs given p = 0.8, 80 % are relevant (Guo, Pleiss, Sun & Weinberger, 2017).

- Brier score (Brier, 1950): ``mean((p - y)^2)``; 0 is perfect, 0.25 is "always 0.5".
- ECE with B equal-width bins: ``sum_b (n_b / n) * |acc_b - conf_b|`` where ``conf_b`` is the mean
  probability and ``acc_b`` the fraction of positives in bin b (Naeini et al., 2015).
- Temperature scaling: one scalar T > 0 fitted by minimising the NLL on held-out pairs with
  L-BFGS; it changes probabilities, never the ranking.
- Platt scaling (Platt, 1999): ``p = sigmoid(a * z + b)``, slope and bias fitted by Newton's method.
  A ranking loss (listwise softmax CE, RankNet) fixes logits only up to a per-query shift, so
  their zero point means nothing: temperature alone (b = 0) cannot move it and can make ECE
  *worse*; the bias b can.

Binary (p = P(relevant), labels 0/1) and multi-class (probabilities (n, C), labels (n,)) inputs
are both accepted; multi-class uses the top class's probability as confidence.

>>> brier_score([0.9, 0.2], [1, 0])
0.025
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _binary(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim == 2:  # multi-class: confidence of the predicted class, correct or not
        if len(p) != len(y):
            raise ValueError(f"calibration: probs has {len(p)} rows but labels has {len(y)}")
        pred = p.argmax(axis=1)
        return p.max(axis=1), (pred == y).astype(np.float64)
    p, y = p.ravel(), y.ravel().astype(np.float64)
    if p.shape != y.shape:
        raise ValueError(f"calibration: probs has shape {p.shape} but labels has {y.shape}")
    if p.size == 0:
        raise ValueError("calibration: probs is empty")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("calibration: probs must lie in [0, 1] (apply a sigmoid to logits first)")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("calibration: labels must be 0 or 1")
    return p, y


def brier_score(probs, labels) -> float:
    """Mean squared error between probability and 0/1 outcome (Brier, 1950). Shapes: (n,), (n,)."""
    p, y = _binary(probs, labels)
    return float(np.mean((p - y) ** 2))


@dataclass
class ReliabilityBins:
    """Per-bin statistics of a reliability diagram (empty bins have count 0 and NaN stats)."""

    edges: np.ndarray  # (B + 1,)
    confidence: np.ndarray  # (B,) mean predicted probability
    accuracy: np.ndarray  # (B,) fraction of positives
    count: np.ndarray  # (B,) number of pairs

    @property
    def ece(self) -> float:
        n = self.count.sum()
        full = self.count > 0
        return float(np.sum(self.count[full] / n * np.abs(self.accuracy[full] - self.confidence[full])))


def reliability_bins(probs, labels, n_bins: int = 10) -> ReliabilityBins:
    """Equal-width bins on [0, 1]; bin b holds p in (b/B, (b+1)/B], the first bin includes 0.0.

    Bin assignment is scikit-learn's ``calibration_curve(strategy="uniform")``'s, so non-empty
    bins give the same ``(accuracy, confidence)`` pairs.
    """
    if n_bins < 1:
        raise ValueError(f"reliability_bins(n_bins={n_bins}): n_bins must be >= 1")
    p, y = _binary(probs, labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], p)  # scikit-learn's binning (side="left")
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    sum_p = np.bincount(which, weights=p, minlength=n_bins)
    sum_y = np.bincount(which, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, sum_p / count, np.nan)
        acc = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityBins(edges, conf, acc, count.astype(np.int64))


def expected_calibration_error(probs, labels, n_bins: int = 10) -> float:
    """ECE (Naeini et al., 2015; Guo et al., 2017) with ``n_bins`` equal-width bins."""
    return reliability_bins(probs, labels, n_bins).ece


def sigmoid(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def _logits_labels(logits, labels, name: str):
    import torch

    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    y = torch.as_tensor(np.asarray(labels))
    if z.shape[0] == 0:
        raise ValueError(f"{name}(logits): empty")
    if z.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: {z.shape[0]} logits but {y.shape[0]} labels")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name}: logits contain NaN or inf")
    return z, y


def fit_temperature(logits, labels, max_iter: int = 100) -> float:
    """Temperature T > 0 minimising the NLL of ``sigmoid(logits / T)`` (or softmax for (n, C) logits).

    Guo et al. (2017). Fitted on a validation set with torch's L-BFGS over log T (so T stays
    positive). Shapes: logits (n,) with labels 0/1, or logits (n, C) with labels in [0, C).
    """
    import torch

    z, y = _logits_labels(logits, labels, "fit_temperature")
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")
    if z.ndim == 1:
        target = y.to(torch.float64)
        loss_fn = lambda: torch.nn.functional.binary_cross_entropy_with_logits(z / log_t.exp(), target)  # noqa: E731
    else:
        target = y.to(torch.long)
        loss_fn = lambda: torch.nn.functional.cross_entropy(z / log_t.exp(), target)  # noqa: E731

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().item())


def fit_platt(logits, labels, max_iter: int = 100) -> tuple[float, float]:
    """Slope and bias ``(a, b)`` minimising the NLL of ``sigmoid(a * z + b)`` (Platt, 1999).

    Binary only: logits (n,), labels 0/1. Equal to an unregularised one-feature logistic
    regression (scikit-learn ``LogisticRegression(C=inf)``). With a > 0 the ranking is unchanged.
    Fitted by Newton's method (IRLS) from (1, 0), halving a step that would raise the NLL, until a
    step moves (a, b) by less than 1e-12 or ``max_iter`` steps: the exact maximum-likelihood fit
    wherever it exists (both classes overlap in score; separable labels drive |a| up until
    ``max_iter``). Platt's paper also smooths the targets to (N+ + 1)/(N+ + 2) and 1/(N- + 2);
    this fit uses the labels as they are, as scikit-learn does.

    >>> a, b = fit_platt(val_logits, val_labels); p = apply_platt(test_logits, a, b)
    """
    z, y = _logits_labels(logits, labels, "fit_platt")
    if z.ndim != 1:
        raise ValueError(f"fit_platt: expected logits of shape (n,), got {tuple(z.shape)}")
    x = np.stack([z.numpy(), np.ones(len(z))], axis=1)  # features [z, 1]
    y = y.numpy().astype(np.float64)

    def nll(w: np.ndarray) -> float:
        s = x @ w
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    w = np.array([1.0, 0.0])
    loss = nll(w)
    for _ in range(max_iter):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) / len(y)
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # one distinct logit: a and b are not separately identified
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while nll(w - t * step) > loss and t > 1e-10:  # a full Newton step may overshoot far from the optimum
            t /= 2
        w = w - t * step
        loss = nll(w)
        if np.abs(t * step).max() < 1e-12:
            break
    return float(w[0]), float(w[1])


def apply_platt(logits, a: float, b: float) -> np.ndarray:
    """Probabilities after Platt scaling: ``sigmoid(a * z + b)``."""
    return sigmoid(a * np.asarray(logits, dtype=np.float64) + b)


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """Probabilities after temperature scaling: ``sigmoid(z / T)`` (or softmax for (n, C) logits)."""
    if temperature <= 0:
        raise ValueError(f"apply_temperature(temperature={temperature}): must be > 0")
    z = np.asarray(logits, dtype=np.float64) / temperature
    if z.ndim == 1:
        return sigmoid(z)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def run_pairs(run, qrels) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a run into (scores (n,), labels (n,)): every (query, document) of ``run``, label 1
    when ``qrels`` grade it > 0, else 0 (unjudged counts as not relevant), in the run's order.

    >>> run_pairs({"q": {"a": 2.0, "b": -1.0}}, {"q": {"a": 1}})
    (array([ 2., -1.]), array([1, 0]))
    """
    scores = [float(s) for q in run for s in run[q].values()]
    labels = [int(qrels.get(q, {}).get(d, 0) > 0) for q in run for d in run[q]]
    return np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)


def reliability_diagram(ax, probs, labels, n_bins: int = 10, label: str | None = None, show_counts: bool = True):
    """Draw a reliability diagram on matplotlib ``ax``: accuracy per bin against confidence.

    The diagonal is perfect calibration; bars below it mean over-confidence. Returns the bins.
    """
    bins = reliability_bins(probs, labels, n_bins)
    centers = (bins.edges[:-1] + bins.edges[1:]) / 2
    width = 1.0 / n_bins
    full = bins.count > 0
    ece = bins.ece
    ax.bar(centers[full], bins.accuracy[full], width=width * 0.9, alpha=0.6, edgecolor="k",
           label=f"{label or 'model'} (ECE {ece:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.plot(bins.confidence[full], bins.accuracy[full], "o-", ms=3)
    if show_counts:
        for c, a, n in zip(centers[full], bins.accuracy[full], bins.count[full]):
            ax.annotate(str(int(n)), (c, a), ha="center", va="bottom", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("predicted probability of relevance (confidence)")
    ax.set_ylabel("fraction relevant (accuracy)")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left")
    return bins
