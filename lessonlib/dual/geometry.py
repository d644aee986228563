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

from lessonlib.core.vectors import l2_normalize


def _matrix(x: np.ndarray, where: str, min_rows: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < min_rows:
        raise ValueError(f"{where}(x): expected a 2-D array (n >= {min_rows}, dim), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{where}(x): contains NaN or inf")
    return x


def singular_values(x: np.ndarray, center: bool = True) -> np.ndarray:
    """Singular values of ``x`` (n, dim), centred on its mean first when ``center``: (min(n, dim),)."""
    x = _matrix(x, "singular_values")
    if center:
        x = x - x.mean(axis=0)
    return np.linalg.svd(x, compute_uv=False)


def effective_rank(x: np.ndarray, center: bool = True) -> float:
    """``exp(-sum_i p_i log p_i)``, ``p_i = s_i / sum s`` (Roy & Vetterli, 2007). (n, dim) -> float.

    How many dimensions ``x`` really uses: between 1 (rank one) and min(n, dim) (all singular
    values equal). ``center=True`` subtracts the column means first (measures spread, not offset).
    Singular values below ``1e-12 * max`` are round-off and left out.

    >>> round(effective_rank(np.random.default_rng(0).normal(size=(5000, 8))), 1)   # close to 8
    8.0
    """
    s = singular_values(x, center)
    if not s.size or s.max() <= 0:
        return 0.0
    s = s[s > s.max() * 1e-12]
    p = s / s.sum()
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
    u = l2_normalize(_matrix(x, "anisotropy"), np.float64)
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
    L2-normalised first (f maps to the unit sphere). Lower is better aligned: 0 when every
    positive pair coincides, 4 (alpha=2) when every pair is antipodal. Wang & Isola 2020, eq. (3).

    >>> round(alignment(np.array([[1.0, 0]]), np.array([[0.0, 1]])), 3)
    2.0
    """
    a, b = _matrix(a, "alignment", min_rows=1), _matrix(b, "alignment", min_rows=1)
    if a.shape != b.shape:
        raise ValueError(f"alignment: a and b must have one shape (the same shape: aligned pairs), "
                         f"got {a.shape} and {b.shape}")
    return float((np.linalg.norm(l2_normalize(a, np.float64) - l2_normalize(b, np.float64), axis=1) ** alpha).mean())


def uniformity(x: np.ndarray, t: float = 2.0, n_pairs: int | None = 20000, seed: int = 0,
               max_points: int | None = None) -> float:
    """Wang & Isola (2020), eq. (4): ``log mean_{i != j} exp(-t ||u(x_i) - u(x_j)||^2)``. (n, dim) -> float.

    Lower (more negative) is more uniform on the sphere: all vectors equal gives 0 (collapse); the
    uniform distribution on S^{d-1} tends to -2t (-4 at t=2) for large d. Two ways to bound the
    O(n^2) cost, both seeded by ``seed``: ``max_points`` first keeps that many rows drawn without
    replacement (None: all rows), then all pairs are used when there are at most ``n_pairs`` of
    them (None: always), else ``n_pairs`` random pairs of distinct rows.

    >>> uniformity(np.ones((5, 3)))
    0.0
    """
    u = l2_normalize(_matrix(x, "uniformity"), np.float64)
    rng = np.random.default_rng(seed)
    if max_points is not None and len(u) > max_points:
        u = u[rng.choice(len(u), max_points, replace=False)]
    n = len(u)
    if n_pairs is None or n * (n - 1) // 2 <= n_pairs:
        sq = np.maximum(2 - 2 * (u @ u.T), 0)[np.triu_indices(n, 1)]
    else:
        i = rng.integers(0, n, n_pairs)
        j = (i + rng.integers(1, n, n_pairs)) % n
        sq = np.maximum(2 - 2 * np.einsum("ij,ij->i", u[i], u[j]), 0)
    return float(np.log(np.exp(-t * sq).mean()))


def local_intrinsic_dimension(x: np.ndarray, k: int = 20, n_points: int | None = 2000, seed: int = 0) -> float:
    """Levina & Bickel (2004) maximum-likelihood intrinsic dimension, averaged over points. (n, dim) -> float.

    For a point with Euclidean distances ``T_1 <= ... <= T_k`` to its ``k`` nearest neighbours
    (itself excluded), ``m_hat = [ (1/(k-1)) sum_{j<k} log(T_k / T_j) ]^{-1}``; the estimate is the
    inverse of the mean of the inverses over points (MacKay & Ghahramani's correction). It is the
    dimension of the manifold the data lie on near each point — what makes nearest-neighbour
    search easy (low) or hard (high), whatever the ambient ``dim``. ``n_points`` query points are
    drawn (seeded; None = all); their neighbours are searched among all rows.

    >>> z = np.random.default_rng(0).normal(size=(4000, 3)) @ np.random.default_rng(1).normal(size=(3, 50))
    >>> 2.5 < local_intrinsic_dimension(z, k=20) < 3.5      # a 3-D plane inside 50-D space
    True
    """
    x = _matrix(x, "local_intrinsic_dimension", min_rows=k + 2)
    if k < 3:
        raise ValueError(f"local_intrinsic_dimension(k={k}): need k >= 3")
    rng = np.random.default_rng(seed)
    rows = np.arange(len(x)) if n_points is None or n_points >= len(x) else rng.choice(len(x), n_points, replace=False)
    sq_norm = (x * x).sum(1)
    inv = []
    for s in range(0, len(rows), 512):
        q = rows[s:s + 512]
        d2 = np.maximum(sq_norm[q, None] + sq_norm[None, :] - 2 * x[q] @ x.T, 0.0)
        d2[np.arange(len(q)), q] = np.inf  # exclude the point itself
        t = np.sqrt(np.sort(np.partition(d2, k, axis=1)[:, :k], axis=1))
        t = np.maximum(t, 1e-12)
        inv.append(np.log(t[:, -1:] / t[:, :-1]).mean(1))
    return float(1.0 / np.concatenate(inv).mean())
