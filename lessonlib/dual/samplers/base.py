"""The negative-sampler protocol and the helpers every sampler shares.

A sampler is configured once (constructor knobs, sklearn style) and called per batch:

    negs = sampler.sample(query_ids, positive_ids, n)   # list of n doc ids per query
    sampler.step(step, encode_fn)                       # per training step (no-op unless stateful)

It never returns a known positive: the ``positive_ids`` given for the batch, plus, when the
sampler was built with ``qrels``, every judged-relevant document (grade > 0) of that query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

# encode_fn(texts, kind) -> float32 (len(texts), dim); kind is "query" or "doc"
EncodeFn = Callable[[Sequence[str], str], np.ndarray]


class NegativeSampler:
    """Base class: subclasses implement :meth:`_sample_one` (or :meth:`sample`)."""

    def __init__(self, seed: int = 0, qrels: dict[str, dict[str, int]] | None = None) -> None:
        self.seed = seed
        self.qrels = qrels
        self.rng_ = np.random.default_rng(seed)

    # -- protocol ---------------------------------------------------------------------------
    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> list[list[str]]:
        """``n`` negative doc ids for each query (fewer only where the pool runs out)."""
        self._check(query_ids, positive_ids, n)
        return [self._sample_one(q, self.excluded(q, pos), n) for q, pos in zip(query_ids, positive_ids)]

    def step(self, step: int, encode_fn: EncodeFn | None = None) -> bool:
        """Called once per training step; returns True when the sampler's state changed."""
        return False

    def reset(self) -> None:
        """Restart the random stream (same seed -> same negatives again)."""
        self.rng_ = np.random.default_rng(self.seed)

    __call__ = sample

    # -- helpers ----------------------------------------------------------------------------
    def _sample_one(self, query_id: str, excluded: set[str], n: int) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def excluded(self, query_id: str, positives: Iterable[str]) -> set[str]:
        """Doc ids never to return for ``query_id``: the batch's positives and the qrels' relevant docs."""
        out = set(positives)
        if self.qrels and query_id in self.qrels:
            out.update(d for d, grade in self.qrels[query_id].items() if grade > 0)
        return out

    def _check(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> None:
        name = type(self).__name__
        if isinstance(query_ids, str):
            raise TypeError(f"{name}.sample(query_ids={query_ids!r}): expected a list of query ids, got a string")
        if len(query_ids) != len(positive_ids):
            raise ValueError(
                f"{name}.sample: query_ids ({len(query_ids)}) and positive_ids ({len(positive_ids)}) must have one entry per query"
            )
        if any(isinstance(p, str) for p in positive_ids):
            raise TypeError(f"{name}.sample(positive_ids=...): expected one list of doc ids per query, got strings")
        if n < 0:
            raise ValueError(f"{name}.sample(n={n}): n must be >= 0")

    def _choose(self, pool: list[str], n: int, pick: str) -> list[str]:
        """The first ``n`` of ``pool`` (``pick="top"``) or ``n`` drawn uniformly without replacement."""
        if pick == "top":
            return pool[:n]
        if len(pool) <= n:
            return [pool[i] for i in self.rng_.permutation(len(pool))]
        idx = self.rng_.choice(len(pool), size=n, replace=False)
        return [pool[i] for i in idx]

    def __repr__(self) -> str:
        keys = [k for k in vars(self) if not k.endswith("_") and not k.startswith("_")]
        shown = []
        for k in keys:
            v = getattr(self, k)
            if isinstance(v, (dict, list, tuple, np.ndarray)) and len(v) > 4:
                v = f"<{type(v).__name__} of {len(v)}>"
            elif callable(v) and not isinstance(v, NegativeSampler):
                v = getattr(v, "__name__", type(v).__name__)
            shown.append(f"{k}={v!r}" if isinstance(v, str) and not v.startswith("<") else f"{k}={v}")
        return f"{type(self).__name__}({', '.join(shown)})"


PICKS = ("top", "random")


def check_pick(owner: str, pick: str) -> str:
    if pick not in PICKS:
        raise ValueError(f"{owner}(pick={pick!r}): expected one of {PICKS}")
    return pick
