"""Information bottleneck and a checkable bound for dual-encoder embeddings (lecture Day 10.1 §7.2, notebook 12 §8).

Information bottleneck (Tishby, Pereira & Bialek 1999): a representation Z of the input X should keep
what predicts the target Y and drop the rest, min I(X; Z) - beta I(Z; Y). For a retrieval
embedding neither term can be computed exactly; two measurable proxies are used:

- **rate** (how much Z keeps of X): for a deterministic encoder I(X; Z) = H(Z); with each coordinate
  quantised uniformly to ``bits`` bits, H(Z) <= sum_j H(Z_j), the sum of per-coordinate empirical
  entropies (:func:`quantized_rate`), in bits per vector;
- **relevance** (how much Z keeps of what a query needs): the InfoNCE lower bound on the mutual
  information between a query and its relevant document (van den Oord et al. 2018; Poole et al. 2019),
  I(Q; D+) >= log N - L_InfoNCE with N candidates per query (:func:`infonce_mi_bound`), in nats.

Johnson-Lindenstrauss (Dasgupta & Gupta 2003): for n points and 0 < eps < 1, a Gaussian random
projection to k >= 4 ln n / (eps^2/2 - eps^3/3) dimensions keeps every squared pairwise distance
within (1 +- eps) with probability >= 1 - 1/n (:func:`jl_min_dim`; :func:`jl_eps` inverts it) -
a bound that :func:`max_distortion` checks on real vectors.
"""

from __future__ import annotations

import numpy as np


def quantized_rate(x: np.ndarray, bits: int = 4, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> float:
    """Upper bound on H(Z) in bits per vector: sum over coordinates of the empirical entropy of
    uniform ``bits``-bit quantisation between ``lo`` and ``hi`` (default: each column's min and max)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or bits < 1:
        raise ValueError(f"quantized_rate(x of shape {x.shape}, bits={bits}): need (n >= 2, d) vectors and bits >= 1")
    lo = x.min(0) if lo is None else lo
    hi = x.max(0) if hi is None else hi
    levels = 2 ** bits
    codes = np.clip(((x - lo) / np.maximum(hi - lo, 1e-12) * levels).astype(int), 0, levels - 1)
    total = 0.0
    for column in codes.T:
        p = np.bincount(column, minlength=levels) / len(column)
        p = p[p > 0]
        total += float(-(p * np.log2(p)).sum())
    return total


def infonce_mi_bound(q: np.ndarray, d: np.ndarray, temperature: float = 0.05) -> float:
    """InfoNCE lower bound on I(Q; D+) in nats: log N - mean_i CE(softmax_j(cos(q_i, d_j) / t), i).

    ``q`` and ``d`` are (N, dim) aligned pairs (row i of d is relevant to row i of q); the other
    N - 1 rows are the negatives. The bound can never exceed log N.
    """
    q, d = np.asarray(q, dtype=np.float64), np.asarray(d, dtype=np.float64)
    if q.shape != d.shape or q.ndim != 2 or len(q) < 2:
        raise ValueError(f"infonce_mi_bound: q {q.shape} and d {d.shape} must be the same (N >= 2, dim) shape")
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    logits = q @ d.T / temperature
    logits -= logits.max(1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return float(np.log(len(q)) + np.mean(np.diag(log_softmax)))


def jl_min_dim(n: int, eps: float) -> int:
    """Dasgupta & Gupta's k: ceil(4 ln n / (eps^2/2 - eps^3/3)), enough for (1 +- eps) distortion of n points."""
    if n < 2 or not 0 < eps < 1:
        raise ValueError(f"jl_min_dim(n={n}, eps={eps}): need n >= 2 and 0 < eps < 1")
    return int(np.ceil(4 * np.log(n) / (eps ** 2 / 2 - eps ** 3 / 3)))


def jl_eps(n: int, k: int) -> float:
    """The smallest eps in (0, 1) whose :func:`jl_min_dim` is <= k (bisection); 1.0 when k is too small for any."""
    if k < 1:
        raise ValueError(f"jl_eps(k={k}): need k >= 1")
    lo, hi = 1e-6, 1.0 - 1e-9
    if jl_min_dim(n, hi) > k:
        return 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if jl_min_dim(n, mid) > k else (lo, mid)
    return hi


def max_distortion(x: np.ndarray, y: np.ndarray) -> float:
    """max over pairs i < j of | ||y_i - y_j||^2 / ||x_i - x_j||^2 - 1 |: how far a map x -> y bends squared distances."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"max_distortion: x ({len(x)} rows) and y ({len(y)} rows) must pair up, >= 2 rows")

    def sq(a):
        g = (a * a).sum(1)
        return g[:, None] + g[None, :] - 2 * a @ a.T

    iu = np.triu_indices(len(x), 1)
    dx, dy = sq(x)[iu], sq(y)[iu]
    keep = dx > 1e-12
    return float(np.abs(dy[keep] / dx[keep] - 1).max())
