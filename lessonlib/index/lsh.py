"""Locality-sensitive hashing with random hyperplanes (sign random projections)."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, similarity


def random_hyperplanes(dim: int, nbits: int, seed: int) -> np.ndarray:
    """(dim, nbits) random directions, orthonormal in blocks of ``dim`` (as FAISS's RandomRotationMatrix)."""
    rng = np.random.default_rng(seed)
    blocks = []
    for start in range(0, nbits, dim):
        g = rng.normal(size=(dim, dim))
        qm, _ = np.linalg.qr(g)
        blocks.append(qm[:, :min(dim, nbits - start)])
    return np.concatenate(blocks, axis=1).astype(np.float32)


class LSHIndex(Index):
    """Random-hyperplane LSH (Charikar 2002): bit j of a vector is sign(x . r_j) for random r_j.

    For two vectors at angle theta, P[bits differ] = theta / pi, so the Hamming distance between
    codes estimates the angle (the cosine). Two ways to search:

    * ``tables=0`` (default, FAISS ``IndexLSH``): rank *every* code by Hamming distance to the
      query's code; ``nbits`` (e.g. 4 x dim) sets the accuracy. Memory: nbits / 8 bytes a vector.
    * ``tables=L``: classic bucketed LSH (Indyk & Motwani 1998): L tables, each keyed by an
      ``nbits``-bit hash (use a small nbits, 8-16); the candidates are the vectors sharing a bucket
      with the query in any table, re-ranked with the exact vectors (which are then stored too).

    Hamming distance is XOR + popcount on the packed codes (``np.bitwise_count``).

    >>> idx = LSHIndex(384, nbits=1024).add(x); idx.search(q, 10)
    """

    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", nbits: int = 256, tables: int = 0, seed: int = 0) -> None:
        super().__init__(dim, metric)
        if nbits < 1 or tables < 0:
            raise ValueError(f"LSHIndex(nbits={nbits}, tables={tables}): need nbits >= 1, tables >= 0")
        self.nbits, self.tables, self.seed = nbits, tables, seed
        self.planes_ = random_hyperplanes(dim, nbits * max(tables, 1), seed)
        self.codes_ = np.zeros((0, (nbits * max(tables, 1) + 7) // 8), np.uint8)
        self.vectors_ = np.zeros((0, dim), np.float32)  # only kept in bucket mode (tables > 0)

    def _params(self) -> dict:
        return {"nbits": self.nbits, "tables": self.tables, "seed": self.seed}

    def _arrays(self) -> dict:
        return {"codes_": self.codes_, "vectors_": self.vectors_}

    def _bits(self, x: np.ndarray) -> np.ndarray:
        return (x @ self.planes_) > 0  # (n, nbits * L) booleans

    def _add(self, x: np.ndarray) -> None:
        self.codes_ = np.concatenate([self.codes_, np.packbits(self._bits(x), axis=1)])
        if self.tables:
            self.vectors_ = np.concatenate([self.vectors_, x])

    def _remove(self, keep: np.ndarray) -> None:
        self.codes_ = self.codes_[keep]
        if self.tables:
            self.vectors_ = self.vectors_[keep]

    def hamming(self, q: np.ndarray) -> np.ndarray:
        """(nq, n) Hamming distances between the queries' codes and every stored code."""
        qc = np.packbits(self._bits(q), axis=1)
        out = np.empty((len(q), self.ntotal), np.int32)
        for s in range(0, len(q), 32):  # (32, n, bytes) XOR block keeps memory bounded
            out[s:s + 32] = np.bitwise_count(qc[s:s + 32, None, :] ^ self.codes_[None, :, :]).sum(axis=2)
        return out

    def _search(self, q: np.ndarray, k: int):
        if not self.tables:
            # higher is better: -hamming; ties broken by insertion order
            return topk(-self.hamming(q).astype(np.float32), k)
        bits = self._bits(q)
        all_bits = np.unpackbits(self.codes_, axis=1)[:, :self.nbits * self.tables].astype(bool)
        weights = (1 << np.arange(self.nbits, dtype=np.int64) % 62)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        keys = [all_bits[:, t * self.nbits:(t + 1) * self.nbits] @ weights for t in range(self.tables)]
        for qi in range(len(q)):
            hit = np.zeros(self.ntotal, bool)
            for t in range(self.tables):
                qkey = bits[qi, t * self.nbits:(t + 1) * self.nbits] @ weights
                hit |= keys[t] == qkey
            cand = np.flatnonzero(hit)
            if cand.size:
                v, p = topk(similarity(q[qi:qi + 1], self.vectors_[cand], self.metric), k)
                out_s[qi, :v.shape[1]], out_i[qi, :v.shape[1]] = v[0], cand[p[0]]
        return out_s, out_i
