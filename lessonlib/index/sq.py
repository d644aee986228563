"""Scalar quantization: each coordinate rounded to 8 or 4 bits."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index.base import Index, merge_topk, similarity


class SQIndex(Index):
    """Per-dimension uniform scalar quantizer (FAISS ``IndexScalarQuantizer`` with ``QT_8bit`` /
    ``QT_4bit``, factory ``"SQ8"`` / ``"SQ4"``).

    train: vmin_j, vmax_j per dimension. encode: c_j = clip(floor((x_j - vmin_j) / (vmax_j - vmin_j) * L), 0, L-1)
    with L = 2^nbits levels; decode: x_j ~ vmin_j + (c_j + 0.5) / L * (vmax_j - vmin_j).
    32-bit floats -> ``nbits`` bits: 4x (8-bit) or 8x (4-bit, two codes per byte) smaller.
    Search decodes the codes block by block and scores exhaustively.

    >>> idx = SQIndex(384, nbits=8).train(x).add(x)
    """

    needs_training = True
    supports_remove = True

    def __init__(self, dim: int, metric: str = "ip", nbits: int = 8, block: int = 16384) -> None:
        super().__init__(dim, metric)
        if nbits not in (4, 8):
            raise ValueError(f"SQIndex(nbits={nbits}): expected 4 or 8")
        self.nbits, self.block = nbits, block
        self.vmin_ = np.zeros(dim, np.float32)
        self.vdiff_ = np.ones(dim, np.float32)
        self.codes_ = np.zeros((0, self._code_size()), np.uint8)

    def _code_size(self) -> int:
        return self.dim if self.nbits == 8 else (self.dim + 1) // 2

    def _params(self) -> dict:
        return {"nbits": self.nbits, "block": self.block}

    def _arrays(self) -> dict:
        return {"vmin_": self.vmin_, "vdiff_": self.vdiff_, "codes_": self.codes_}

    def _train(self, x: np.ndarray) -> None:
        self.vmin_ = x.min(axis=0)
        self.vdiff_ = np.maximum(x.max(axis=0) - self.vmin_, 1e-12).astype(np.float32)

    def encode(self, x: np.ndarray) -> np.ndarray:
        levels = 1 << self.nbits
        c = np.clip(np.floor((x - self.vmin_) / self.vdiff_ * levels), 0, levels - 1).astype(np.uint8)
        if self.nbits == 4:
            if self.dim % 2:
                c = np.concatenate([c, np.zeros((len(c), 1), np.uint8)], axis=1)
            c = (c[:, 0::2] | (c[:, 1::2] << 4)).astype(np.uint8)  # two 4-bit codes per byte
        return c

    def decode(self, codes: np.ndarray) -> np.ndarray:
        if self.nbits == 4:
            codes = np.stack([codes & 15, codes >> 4], axis=2).reshape(len(codes), -1)[:, :self.dim]
        levels = 1 << self.nbits
        return self.vmin_ + (codes.astype(np.float32) + 0.5) / levels * self.vdiff_

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """x -> decode(encode(x)): each coordinate moved to the centre of its quantization step (to measure
        reconstruction error, as ``PQIndex.reconstruct``)."""
        return self.decode(self.encode(x))

    def _add(self, x: np.ndarray) -> None:
        self.codes_ = np.concatenate([self.codes_, self.encode(x)])

    def _remove(self, keep: np.ndarray) -> None:
        self.codes_ = self.codes_[keep]

    def _search(self, q: np.ndarray, k: int):
        best_s = np.full((len(q), 0), -np.inf, np.float32)
        best_i = np.zeros((len(q), 0), np.int64)
        for s in range(0, self.ntotal, self.block):
            sc = similarity(q, self.decode(self.codes_[s:s + self.block]), self.metric)
            best_s, best_i = merge_topk(best_s, best_i, *topk(sc, k), k=k, offset=s)
        return best_s, best_i

