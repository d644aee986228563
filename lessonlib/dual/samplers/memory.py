"""Cross-batch memory (XBM): a FIFO queue of past document embeddings used as extra negatives."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class CrossBatchMemory:
    """A fixed-size FIFO queue of document embeddings from past batches (Wang et al. 2020, XBM).

    Embeddings drift slowly once training has warmed up, so last batches' document embeddings are
    still useful negatives: the memory multiplies the number of negatives per query by
    ``size / B`` at the cost of a (B, size) matrix product, with no extra encoder passes (Wang,
    Zhang, Huang & Scott 2020, "Cross-Batch Memory for Embedding Learning"; MoCo's queue, He et al.
    2020). Stored embeddings are detached: no gradient flows into the past.

    Usage per step::

        extra = memory.negatives()                 # (m, d), m <= size, oldest first
        mask = memory.mask(batch_positive_ids)     # (B, m) False where an entry is a positive
        loss = infonce(q, pos, extra, mask=...)    # see lessonlib.losses.InfoNCELoss
        memory.enqueue(pos, ids=[p[0] for p in batch_positive_ids])

    Args:
        size: the number of embeddings kept (the oldest are dropped first).
        dim: embedding size (else taken from the first enqueue).

    >>> m = CrossBatchMemory(size=3)
    >>> m.enqueue(torch.eye(2), ids=["a", "b"]); m.enqueue(torch.ones(2, 2), ids=["c", "d"])
    >>> m.ids
    ['b', 'c', 'd']
    """

    def __init__(self, size: int = 4096, dim: int | None = None) -> None:
        if size < 1:
            raise ValueError(f"CrossBatchMemory(size={size}): size must be >= 1")
        self.size = size
        self.dim = dim
        self.buffer_: Tensor | None = None  # (size, dim) ring buffer
        self.ids_: list[str | None] = [None] * size
        self.ptr_ = 0  # next slot to write
        self.count_ = 0  # slots filled
        self.enqueued_ = 0  # embeddings ever added

    def __len__(self) -> int:
        return self.count_

    @property
    def full(self) -> bool:
        return self.count_ == self.size

    def enqueue(self, embeddings: Tensor, ids: Sequence[str] | None = None) -> None:
        """Add (B, d) embeddings (detached, copied) and their doc ids; drops the oldest beyond ``size``."""
        emb = torch.as_tensor(embeddings).detach()
        if emb.dim() != 2:
            raise ValueError(f"CrossBatchMemory.enqueue(embeddings): expected (B, d), got {tuple(emb.shape)}")
        if ids is not None and len(ids) != len(emb):
            raise ValueError(f"CrossBatchMemory.enqueue(ids): {len(ids)} ids for {len(emb)} embeddings")
        if self.buffer_ is None:
            self.dim = self.dim or emb.shape[1]
            self.buffer_ = torch.zeros(self.size, self.dim, dtype=emb.dtype, device=emb.device)
        if emb.shape[1] != self.dim:
            raise ValueError(f"CrossBatchMemory.enqueue(embeddings): dim {emb.shape[1]} != memory dim {self.dim}")
        if len(emb) > self.size:  # only the newest `size` rows survive anyway
            emb = emb[-self.size :]
            ids = list(ids)[-self.size :] if ids is not None else None
        b = len(emb)
        slots = (self.ptr_ + torch.arange(b)) % self.size
        self.buffer_[slots.to(self.buffer_.device)] = emb.to(self.buffer_.dtype)
        for k, s in enumerate(slots.tolist()):
            self.ids_[s] = ids[k] if ids is not None else None
        self.ptr_ = (self.ptr_ + b) % self.size
        self.count_ = min(self.size, self.count_ + b)
        self.enqueued_ += b

    def dequeue(self, k: int) -> Tensor:
        """Remove and return the ``k`` oldest embeddings (k, d)."""
        k = min(k, self.count_)
        order = self._order()[:k]
        out = self.buffer_[order].clone() if self.buffer_ is not None else torch.empty(0)
        self.count_ -= k
        for s in order.tolist():
            self.ids_[s] = None
        return out

    def _order(self) -> Tensor:
        start = (self.ptr_ - self.count_) % self.size
        return (start + torch.arange(self.count_)) % self.size  # oldest first

    def negatives(self) -> Tensor:
        """The stored embeddings (m, d), oldest first (a view-free copy)."""
        if self.buffer_ is None:
            return torch.empty(0, self.dim or 0)
        return self.buffer_[self._order().to(self.buffer_.device)].clone()

    @property
    def ids(self) -> list[str | None]:
        """Doc ids of the stored embeddings, oldest first."""
        return [self.ids_[s] for s in self._order().tolist()]

    def mask(self, positive_ids: Sequence[Sequence[str]]) -> Tensor:
        """bool (B, m): False where memory entry j is one of the positives of query i (a false negative)."""
        ids = self.ids
        return torch.tensor([[d is None or d not in set(pos) for d in ids] for pos in positive_ids], dtype=torch.bool).reshape(
            len(positive_ids), len(ids)
        )

    def reset(self) -> None:
        self.__init__(self.size, self.dim)

    def __repr__(self) -> str:
        return f"CrossBatchMemory(size={self.size}, dim={self.dim}, filled={self.count_})"
