"""k-means (Lloyd 1957/1982) in numpy: the coarse quantizer of IVF and the codebooks of PQ."""

from __future__ import annotations

import numpy as np


def assign(x: np.ndarray, centroids: np.ndarray, block: int = 8192) -> np.ndarray:
    """Index of the nearest centroid (L2) for each row of ``x``: (n, d), (k, d) -> (n,)."""
    cn = np.einsum("ij,ij->i", centroids, centroids)
    out = np.empty(len(x), np.int64)
    for s in range(0, len(x), block):
        # argmin ||x - c||^2 = argmin (||c||^2 - 2 x.c); ||x||^2 is the same for every c
        out[s:s + block] = np.argmin(cn[None, :] - 2.0 * x[s:s + block] @ centroids.T, axis=1)
    return out


def kmeans(x: np.ndarray, k: int, niter: int = 20, seed: int = 0, max_points_per_centroid: int = 256) -> np.ndarray:
    """Lloyd's k-means: (n, d) float32 -> (k, d) centroids.

    Like FAISS's ``Clustering``: initialise with k distinct random points, subsample the
    training set to ``k * max_points_per_centroid`` rows, alternate assign / mean for
    ``niter`` rounds, and re-seed an empty cluster by splitting the largest one.
    """
    x = np.asarray(x, np.float32)
    n = len(x)
    if n < k:
        raise ValueError(f"kmeans(k={k}): need at least k training vectors, got {n}")
    rng = np.random.default_rng(seed)
    if n > k * max_points_per_centroid:
        x = x[rng.choice(n, k * max_points_per_centroid, replace=False)]
        n = len(x)
    centroids = x[rng.choice(n, k, replace=False)].copy()
    for _ in range(niter):
        a = assign(x, centroids)
        counts = np.bincount(a, minlength=k).astype(np.float32)
        sums = np.zeros_like(centroids)
        np.add.at(sums, a, x)
        nonempty = counts > 0
        centroids[nonempty] = sums[nonempty] / counts[nonempty, None]
        for empty in np.flatnonzero(~nonempty):  # split the biggest cluster in two
            big = int(np.argmax(counts))
            noise = rng.normal(scale=1e-4, size=centroids.shape[1]).astype(np.float32)
            centroids[empty] = centroids[big] + noise
            centroids[big] -= noise
            counts[big] /= 2
            counts[empty] = counts[big]
    return centroids
