"""Geometry of an embedding space: how many dimensions it uses, and how its vectors spread.

Measurable proxies for the representation-learning theory of Day 10.1 §7.2 (the information
bottleneck asks how much of the input a representation keeps; these ask how much of its
*capacity* an embedding actually uses):

- :func:`effective_rank` (Roy & Vetterli, 2007): ``exp(H(p))`` with ``p_i = s_i / sum_j s_j`` the
  normalised singular values of the centred matrix and ``H`` the Shannon entropy (nats). It is
  ``r`` when ``r`` directions carry equal energy and the rest none; between 1 and min(n, dim).
- :func:`participation_ratio`: ``(sum_i l_i)^2 / sum_i l_i^2`` over covariance eigenvalues
  ``l_i = s_i^2 / (n - 1)``, another "number of dimensions in use".
- :func:`dims_for_variance`: the fewest principal components holding a share of the variance.
- :func:`anisotropy` (Ethayarajh, 2019): mean cosine between vectors of different texts; near 0
  for isotropic vectors, high when all vectors crowd into a narrow cone.
- :func:`alignment` and :func:`uniformity` (Wang & Isola, 2020): for unit vectors, alignment
  ``E ||f(x) - f(y)||^2`` over positive pairs (lower: positives closer) and uniformity
  ``log E exp(-t ||f(x) - f(y)||^2)`` over all pairs, t = 2 (lower: more uniform on the sphere).
  Contrastive losses optimise both (InfoNCE's two terms, asymptotically).

Shapes: embeddings are (n, dim) arrays; every function returns a float.

>>> x = np.diag([1.0, 1.0, 0.0])                 # two equal directions in use, one unused
>>> round(effective_rank(x, center=False), 3)
2.0
"""

from __future__ import annotations

import numpy as np


def _matrix(x: np.ndarray, where: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{where}(x): expected a 2-D array (n >= 2, dim), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{where}(x): contains NaN or inf")
    return x


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def singular_values(x: np.ndarray, center: bool = True) -> np.ndarray:
    """Singular values of ``x`` (n, dim), centred on its mean first when ``center``: (min(n, dim),)."""
    x = _matrix(x, "singular_values")
    if center:
        x = x - x.mean(axis=0)
    return np.linalg.svd(x, compute_uv=False)


def effective_rank(x: np.ndarray, center: bool = True) -> float:
    """``exp(-sum_i p_i log p_i)``, ``p_i = s_i / sum s`` (Roy & Vetterli, 2007). (n, dim) -> float.

    >>> effective_rank(np.random.default_rng(0).normal(size=(5000, 8)))   # close to 8
    """
    s = singular_values(x, center)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def participation_ratio(x: np.ndarray) -> float:
    """``(sum l)^2 / sum l^2`` of the covariance eigenvalues ``l`` of ``x`` (n, dim) -> float."""
    lam = singular_values(x, center=True) ** 2
    denom = (lam ** 2).sum()
    return float(lam.sum() ** 2 / denom) if denom > 0 else 0.0


def dims_for_variance(x: np.ndarray, share: float = 0.9) -> int:
    """The fewest principal components whose variance reaches ``share`` of the total. (n, dim) -> int."""
    if not 0 < share <= 1:
        raise ValueError(f"dims_for_variance(share={share}): expected 0 < share <= 1")
    lam = singular_values(x, center=True) ** 2
    cum = np.cumsum(lam) / lam.sum()
    return int(np.searchsorted(cum, share - 1e-12) + 1)


def anisotropy(x: np.ndarray, n_pairs: int = 20000, seed: int = 0) -> float:
    """Mean cosine of random pairs of distinct rows (Ethayarajh, 2019). (n, dim) -> float.

    All pairs are used when there are fewer than ``n_pairs`` of them.
    """
    u = _unit(_matrix(x, "anisotropy"))
    n = len(u)
    if n * (n - 1) // 2 <= n_pairs:
        sims = u @ u.T
        return float(sims[np.triu_indices(n, 1)].mean())
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # never equal to i
    return float(np.einsum("ij,ij->i", u[i], u[j]).mean())


def alignment(a: np.ndarray, b: np.ndarray, alpha: float = 2.0) -> float:
    """Wang & Isola (2020): ``mean_i ||u(a_i) - u(b_i)||^alpha`` over positive pairs (a_i, b_i).

    a, b: (n, dim) aligned rows (e.g. a query and its relevant document) -> float; rows are
    L2-normalised first. Lower is better aligned.
    """
    a, b = _matrix(a, "alignment"), _matrix(b, "alignment")
    if a.shape != b.shape:
        raise ValueError(f"alignment: a and b must have one shape, got {a.shape} and {b.shape}")
    return float((np.linalg.norm(_unit(a) - _unit(b), axis=1) ** alpha).mean())


def uniformity(x: np.ndarray, t: float = 2.0, n_pairs: int = 20000, seed: int = 0) -> float:
    """Wang & Isola (2020): ``log mean_{i != j} exp(-t ||u(x_i) - u(x_j)||^2)``. (n, dim) -> float.

    Lower is more uniform. Uses all pairs when there are fewer than ``n_pairs``, else a seeded
    random sample of pairs.
    """
    u = _unit(_matrix(x, "uniformity"))
    n = len(u)
    if n * (n - 1) // 2 <= n_pairs:
        sq = np.maximum(2 - 2 * (u @ u.T), 0)[np.triu_indices(n, 1)]
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, n_pairs)
        j = (i + rng.integers(1, n, n_pairs)) % n
        sq = np.maximum(2 - 2 * np.einsum("ij,ij->i", u[i], u[j]), 0)
    return float(np.log(np.exp(-t * sq).mean()))
