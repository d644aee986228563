"""Product quantization: a vector becomes M small codebook indices; search uses lookup tables."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, merge_topk
from lessonlib.index.kmeans import assign, kmeans


class ProductQuantizer:
    """The codec alone (Jégou, Douze & Schmid 2011, "Product quantization for nearest neighbor search").

    Split x (dim) into M sub-vectors of dsub = dim / M; learn one k-means codebook of
    ksub = 2^nbits centroids per sub-space; the code of x is the M centroid indices.
    Memory: M * nbits / 8 bytes a vector instead of 4 * dim (M=48, nbits=8 on 384-d: 32x smaller).

    Asymmetric distance computation (ADC): the query stays exact; for each sub-space precompute a
    table T[m, c] = score(q_m, codebook[m, c]) (M x ksub numbers); then
    score(q, x) ~ sum_m T[m, code_m(x)] -- M table look-ups per stored vector, no multiplications.
    """

    def __init__(self, dim: int, M: int, nbits: int = 8, niter: int = 20, seed: int = 0) -> None:
        if dim % M:
            raise ValueError(f"PQ(M={M}): dim {dim} must be divisible by M")
        if not 1 <= nbits <= 8:
            raise ValueError(f"PQ(nbits={nbits}): expected 1..8 (codes are stored as uint8)")
        self.dim, self.M, self.nbits, self.niter, self.seed = dim, M, nbits, niter, seed
        self.dsub, self.ksub = dim // M, 1 << nbits
        self.codebooks_ = np.zeros((M, self.ksub, self.dsub), np.float32)

    def _split(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), self.M, self.dsub)  # (n, M, dsub)

    def train(self, x: np.ndarray) -> "ProductQuantizer":
        if len(x) < self.ksub:
            raise ValueError(f"PQ.train: need at least 2^nbits = {self.ksub} training vectors, got {len(x)}")
        sub = self._split(x)
        for m in range(self.M):
            self.codebooks_[m] = kmeans(sub[:, m], self.ksub, niter=self.niter, seed=self.seed + m)
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        sub = self._split(x)
        return np.stack([assign(sub[:, m], self.codebooks_[m]) for m in range(self.M)], 1).astype(np.uint8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        parts = [self.codebooks_[m][codes[:, m]] for m in range(self.M)]
        return np.concatenate(parts, axis=1)

    def tables(self, q: np.ndarray, metric: str) -> np.ndarray:
        """(nq, M, ksub) ADC tables: q_m . c for ip, -||q_m - c||^2 for l2."""
        sub = self._split(q)
        dots = np.einsum("qmd,mkd->qmk", sub, self.codebooks_)
        if metric == "ip":
            return dots
        cn = np.einsum("mkd,mkd->mk", self.codebooks_, self.codebooks_)
        qn = np.einsum("qmd,qmd->qm", sub, sub)
        return -(qn[:, :, None] - 2 * dots + cn[None])

    @staticmethod
    def adc(tables: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """(nq, M, ksub) tables x (n, M) codes -> (nq, n) approximate scores (sum of M look-ups)."""
        out = np.zeros((tables.shape[0], len(codes)), np.float32)
        for m in range(codes.shape[1]):
            out += tables[:, m, :][:, codes[:, m]]
        return out


class PQIndex(Index):
    """Exhaustive search over PQ codes with ADC tables (FAISS ``IndexPQ``, factory ``"PQ48"``).

    >>> idx = PQIndex(384, M=48, nbits=8).train(x).add(x)   # 48 bytes a vector (32x smaller)
    >>> idx.search(q, 10)
    """

    needs_training = True
    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", M: int = 8, nbits: int = 8, niter: int = 20, seed: int = 0, block: int = 8192) -> None:
        super().__init__(dim, metric)
        self.M, self.nbits, self.niter, self.seed, self.block = M, nbits, niter, seed, block
        self.pq = ProductQuantizer(dim, M, nbits, niter, seed)
        self.codes_ = np.zeros((0, M), np.uint8)

    def _params(self) -> dict:
        return {"M": self.M, "nbits": self.nbits, "niter": self.niter, "seed": self.seed, "block": self.block}

    def _arrays(self) -> dict:
        return {"codebooks_": self.pq.codebooks_, "codes_": self.codes_}

    def _set_arrays(self, arrays: dict) -> None:
        self.pq.codebooks_ = arrays["codebooks_"]
        self.codes_ = arrays["codes_"]

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return x  # OPQ overrides this with its rotation

    def _train(self, x: np.ndarray) -> None:
        self.pq.train(self._transform(x))

    def _add(self, x: np.ndarray) -> None:
        self.codes_ = np.concatenate([self.codes_, self.pq.encode(self._transform(x))])

    def _remove(self, keep: np.ndarray) -> None:
        self.codes_ = self.codes_[keep]

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """x -> decode(encode(x)) in the original space (to measure reconstruction error)."""
        return self.pq.decode(self.pq.encode(self._transform(x)))

    def _search(self, q: np.ndarray, k: int):
        tab = self.pq.tables(self._transform(q), self.metric)
        best_s = np.full((len(q), 0), -np.inf, np.float32)
        best_i = np.zeros((len(q), 0), np.int64)
        for s in range(0, self.ntotal, self.block):
            sc = self.pq.adc(tab, self.codes_[s:s + self.block])
            best_s, best_i = merge_topk(best_s, best_i, *topk(sc, k), k=k, offset=s)
        return best_s, best_i
