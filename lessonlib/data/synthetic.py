"""Seeded synthetic vectors with cluster structure, for scaling experiments beyond SciFact's 5k docs.

Generator (documented so a run can be reproduced exactly):

    centres c_j ~ N(0, I_dim), j = 1..n_clusters          (rng = default_rng([seed, 0xC1]))
    mixing  A ~ N(0, 1)^{latent x dim} * sqrt(dim / latent)  (one shared low-rank "topic" basis)
    for row i:  j_i ~ Zipf-like weights w_j ∝ 1 / j^0.5     (clusters of unequal size, like topics)
                x_i = c_j + spread * (z_i A + noise * e_i),  z_i ~ N(0, I_latent), e_i ~ N(0, I_dim)
                then x_i /= ||x_i||                           (unit norm: ip = cosine)

Real embeddings have a low *intrinsic* dimension; the low-rank term gives the synthetic data
that property (isotropic Gaussian noise in 384 dimensions would make every neighbour almost
equidistant, a worst case no ANN index meets in practice). ``LATENT`` is set so the local
intrinsic dimension (Levina & Bickel 2004, :func:`lessonlib.dual.geometry.local_intrinsic_dimension`)
matches real all-MiniLM-L6-v2 embeddings: SciFact's 5,183 abstracts measure 14.0 (k=10) /
15.1 (k=20); this generator with ``LATENT = 12`` gives 14.5 / 13.7 at the same n (16.9 at
n = 100k), while ``LATENT = 24`` gave 25.0 / 24.0 — much harder for ANN than the real thing.

Rows are generated in chunks from ``default_rng([seed, chunk_no])`` so any chunk can be made
independently and a 1M x 384 float32 matrix (1.5 GB) streams to a memory-mapped ``.npy``
without ever being whole in RAM. Queries are drawn the same way from a different seed stream
(so they are *not* copies of stored vectors).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

LATENT = 12  # calibrated to the LID of real MiniLM embeddings (module docstring)
NOISE = 0.15


def _centres(dim: int, n_clusters: int, seed: int, latent: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0xC1])
    centres = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    mixing = (rng.normal(size=(latent, dim)) * np.sqrt(dim / latent) / np.sqrt(latent)).astype(np.float32)
    w = 1.0 / np.arange(1, n_clusters + 1) ** 0.5
    return centres, mixing, w / w.sum()


def clustered_chunk(n: int, dim: int, chunk_no: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0,
                    stream: int = 1, latent: int | None = None) -> np.ndarray:
    """``n`` unit-norm rows of chunk ``chunk_no`` (float32, (n, dim)). ``stream`` 1 = data, 2 = queries.
    ``latent``: rank of the shared topic basis (None: the module's ``LATENT``)."""
    latent = latent or LATENT
    centres, mixing, w = _centres(dim, n_clusters, seed, latent)
    rng = np.random.default_rng([seed, stream, chunk_no])
    j = rng.choice(n_clusters, size=n, p=w)
    z = rng.normal(size=(n, latent)).astype(np.float32)
    x = centres[j] + spread * (z @ mixing + NOISE * rng.normal(size=(n, dim)).astype(np.float32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def clustered_vectors(n: int, dim: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0,
                      chunk: int = 65536, latent: int | None = None) -> np.ndarray:
    """In-memory version of :func:`write_clustered` (same rows for the same arguments)."""
    parts = [clustered_chunk(min(chunk, n - s), dim, s // chunk, n_clusters, spread, seed, latent=latent)
             for s in range(0, n, chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)


def clustered_queries(nq: int, dim: int, n_clusters: int = 1000, spread: float = 0.6, seed: int = 0,
                      latent: int | None = None) -> np.ndarray:
    """Queries from the same distribution, independent of the stored rows."""
    return clustered_chunk(nq, dim, 0, n_clusters, spread, seed, stream=2, latent=latent)


def write_clustered(path: str | os.PathLike, n: int, dim: int, n_clusters: int = 1000, spread: float = 0.6,
                    seed: int = 0, chunk: int = 65536, progress: bool = True, latent: int | None = None) -> np.ndarray:
    """Stream ``n`` rows into a memory-mapped ``.npy`` at ``path``; returns the read-only memmap.

    An existing file is reused only when its ``.json`` sidecar records the same generator
    (every argument, the latent rank used and ``NOISE``); otherwise it is regenerated. Written to a
    temporary name then renamed (atomic), the sidecar last.
    """
    path = Path(path)
    meta = path.with_suffix(".json")
    latent = latent or LATENT
    params = dict(n=n, dim=dim, n_clusters=n_clusters, spread=spread, seed=seed, chunk=chunk, latent=latent, noise=NOISE)
    if path.exists() and meta.exists():
        try:
            same = json.loads(meta.read_text()) == params
        except ValueError:
            same = False
        if same:
            return np.load(path, mmap_mode="r")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
    for s in tqdm(range(0, n, chunk), desc=f"synthetic {n}x{dim}", disable=not progress):
        out[s:s + chunk] = clustered_chunk(min(chunk, n - s), dim, s // chunk, n_clusters, spread, seed, latent=latent)
    out.flush()
    del out
    os.replace(tmp, path)
    tmp_meta = meta.with_name(f".{meta.name}.tmp")
    tmp_meta.write_text(json.dumps(params))
    os.replace(tmp_meta, meta)
    return np.load(path, mmap_mode="r")
