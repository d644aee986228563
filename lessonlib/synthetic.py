"""Seeded synthetic vectors with cluster structure, for scaling experiments beyond SciFact's 5k docs.

Generator (documented so a run can be reproduced exactly):

    centres c_j ~ N(0, I_dim), j = 1..n_clusters          (rng = default_rng([seed, 0xC1]))
    mixing  A ~ N(0, 1)^{latent x dim} * sqrt(dim / latent)  (one shared low-rank "topic" basis)
    for row i:  j_i ~ Zipf-like weights w_j ∝ 1 / j^0.5     (clusters of unequal size, like topics)
                x_i = c_j + spread * (z_i A + noise * e_i),  z_i ~ N(0, I_latent), e_i ~ N(0, I_dim)
                then x_i /= ||x_i||                           (unit norm: ip = cosine)

Real embeddings have a low *intrinsic* dimension; the low-rank term gives the synthetic data
that property (isotropic Gaussian noise in 384 dimensions would make every neighbour almost
equidistant, a worst case no ANN index meets in practice).

Rows are generated in chunks from ``default_rng([seed, chunk_no])`` so any chunk can be made
independently and a 1M x 384 float32 matrix (1.5 GB) streams to a memory-mapped ``.npy``
without ever being whole in RAM. Queries are drawn the same way from a different seed stream
(so they are *not* copies of stored vectors).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm


LATENT = 24
NOISE = 0.15


def _centres(dim: int, n_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0xC1])
    centres = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    mixing = (rng.normal(size=(LATENT, dim)) * np.sqrt(dim / LATENT) / np.sqrt(LATENT)).astype(np.float32)
    w = 1.0 / np.arange(1, n_clusters + 1) ** 0.5
    return centres, mixing, w / w.sum()


def clustered_chunk(n: int, dim: int, chunk_no: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0,
                    stream: int = 1) -> np.ndarray:
    """``n`` unit-norm rows of chunk ``chunk_no`` (float32, (n, dim)). ``stream`` 1 = data, 2 = queries."""
    centres, mixing, w = _centres(dim, n_clusters, seed)
    rng = np.random.default_rng([seed, stream, chunk_no])
    j = rng.choice(n_clusters, size=n, p=w)
    z = rng.normal(size=(n, LATENT)).astype(np.float32)
    x = centres[j] + spread * (z @ mixing + NOISE * rng.normal(size=(n, dim)).astype(np.float32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def clustered_vectors(n: int, dim: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0,
                      chunk: int = 65536) -> np.ndarray:
    """In-memory version of :func:`write_clustered` (same rows for the same arguments)."""
    parts = [clustered_chunk(min(chunk, n - s), dim, s // chunk, n_clusters, spread, seed) for s in range(0, n, chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)


def clustered_queries(nq: int, dim: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0) -> np.ndarray:
    """Queries from the same distribution, independent of the stored rows."""
    return clustered_chunk(nq, dim, 0, n_clusters, spread, seed, stream=2)


def write_clustered(path: str | os.PathLike, n: int, dim: int, n_clusters: int = 1000, spread: float = 0.6,
                    seed: int = 0, chunk: int = 65536, progress: bool = True) -> np.ndarray:
    """Stream ``n`` rows into a memory-mapped ``.npy`` at ``path`` (reused if it already exists with
    that shape); returns the read-only memmap. Written to a temporary name then renamed (atomic)."""
    path = Path(path)
    if path.exists():
        arr = np.load(path, mmap_mode="r")
        if arr.shape == (n, dim):
            return arr
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
    for s in tqdm(range(0, n, chunk), desc=f"synthetic {n}x{dim}", disable=not progress):
        out[s:s + chunk] = clustered_chunk(min(chunk, n - s), dim, s // chunk, n_clusters, spread, seed)
    out.flush()
    del out
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")
