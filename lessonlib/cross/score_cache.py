"""Cross-encoder scores cached on disk, so a (query, document) pair is scored once per model.

A cross-encoder's score of a pair depends only on the model's weights, the token limit and the
overflow strategy, so it can be stored like an embedding: :class:`CachedScorer` wraps a
``CrossEncoder`` and keeps each score as a 1-d "vector" in :class:`lessonlib.core.cache.
EmbeddingCache`, keyed by SHA-1 of ``query + "\\x00" + document``, in a namespace made of the
model's identity (SHA-256 of its weights, ``lessonlib.core.hub.model_identity``), ``max_length`` and
``overflow``. Re-ranking the same candidates again (another notebook, another ``k``, another
first stage that retrieved the same documents) then costs a lookup instead of a forward pass.

It has the ``score`` signature that :func:`lessonlib.retrieval.rerank.rerank` calls, so it drops in:

>>> scorer = CachedScorer(CrossEncoder.load(path))          # doctest: +SKIP
>>> run2 = rerank(scorer, ds, bm25, k=50)                   # scores missing pairs only  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lessonlib.core.cache import EmbeddingCache, namespace
from lessonlib.core.hub import model_identity


class CachedScorer:
    """``score(pairs)`` of ``model`` served from the on-disk cache; only missing pairs are scored.

    Args:
        model: an object with ``score(pairs, batch_size=..., show_progress=...)`` (a ``CrossEncoder``).
        identity: what names the model's weights in the cache; default the SHA-256 identity of the
            folder the model was loaded from (``model.name``). A model trained in memory and not
            saved has no identity: pass one, or do not cache it.
        root: the cache folder (default ``lessonlib.core.config.cache_dir("embeddings")``).
    """

    def __init__(self, model, identity: str | None = None, root=None) -> None:
        if identity is None:
            from pathlib import Path

            name = getattr(model, "name", None)
            if name is None or not Path(str(name)).is_dir():
                raise ValueError(f"CachedScorer(identity=None): model {name!r} was not loaded from a folder; "
                                 "save it and load it back, or pass identity=...")
            identity = model_identity(name)
        self.model = model
        self.identity = identity
        settings = {"kind": "cross-encoder-scores", "model": identity,
                    "max_length": getattr(model, "max_length", None), "overflow": getattr(model, "overflow", None)}
        self.cache = EmbeddingCache(namespace(**settings), root=root, settings=settings)
        self.n_scored = 0  # pairs run through the model by this scorer
        self.n_cached = 0  # pairs served from the cache

    @property
    def name(self) -> str:
        return str(getattr(self.model, "name", self.identity))

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Scores (n,) float32 of ``(query, doc)`` pairs, as ``model.score`` would return them."""
        pairs = [(str(q), str(d)) for q, d in pairs]
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        keys = [f"{q}\x00{d}" for q, d in pairs]
        vecs, _, found = self.cache.get(keys)
        out = np.zeros(len(pairs), dtype=np.float32) if vecs is None else vecs[:, 0].astype(np.float32)
        todo = np.flatnonzero(~found)
        if todo.size:
            uniq = list(dict.fromkeys(keys[i] for i in todo))  # a pair asked twice is scored once
            where = {k: j for j, k in enumerate(uniq)}
            new = np.asarray(self.model.score([tuple(k.split("\x00", 1)) for k in uniq], batch_size=batch_size,
                                              show_progress=show_progress), dtype=np.float32)
            self.cache.put(uniq, new[:, None], np.zeros(len(uniq), dtype=np.int32))
            out[todo] = new[[where[keys[i]] for i in todo]]
            self.n_scored += len(uniq)
        self.n_cached += int(found.sum())
        return out
