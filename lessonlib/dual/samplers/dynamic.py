"""Negatives from the model being trained: periodically refreshed (ANCE) or live (adversarial)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lessonlib.core.similarity import FIXED_SIMILARITIES, check_similarity
from lessonlib.dual.samplers.base import EncodeFn, NegativeSampler
from lessonlib.dual.samplers.ranked import DenseHardNegatives


class DynamicHardNegatives(NegativeSampler):
    """ANCE-style hard negatives, re-mined from the current model every ``refresh_every`` steps.

    Static hard negatives come from a model that no longer exists after a few hundred updates;
    the negatives the *current* model finds hard are the informative ones. ANCE (Xiong et al.
    2021, "Approximate Nearest Neighbor Negative Contrastive Learning for Dense Text Retrieval")
    re-encodes the corpus with a recent checkpoint and rebuilds the index every few thousand steps.
    Here the refresh is synchronous: :meth:`step` calls ``encode_fn`` on the corpus and the
    queries, searches exactly, and hands the run to a :class:`DenseHardNegatives` (with the same
    denoising knobs). Before the first refresh, ``initial`` (e.g. :class:`BM25Negatives`, as ANCE
    warm-starts from BM25) supplies the negatives.

    Args:
        query_texts: query id -> text (the training queries).
        doc_ids, doc_texts: the corpus, in the same order.
        refresh_every: steps between refreshes; a refresh happens at step 0 and at every multiple.
        initial: sampler used until the first refresh (None: sampling before it raises).
        similarity: ``"cosine"`` | ``"ip"`` | ``"l2"`` (how the run is scored; :mod:`lessonlib.core.similarity`).
        **dense_kwargs: depth, skip_top, margin, max_ratio, pick, seed, qrels for DenseHardNegatives.

    Learned state: ``current_`` (the DenseHardNegatives of the last refresh), ``refresh_steps_``.

    Example::

        sampler = DynamicHardNegatives(queries, ids, texts, refresh_every=500, initial=bm25_sampler)
        for step, batch in enumerate(loader):
            sampler.step(step, encode_fn=lambda texts, kind: encode(model, texts, kind=kind, cache=False))
            negs = sampler.sample(batch.qids, batch.positive_ids, n=1)
    """

    def __init__(
        self,
        query_texts: dict[str, str],
        doc_ids: Sequence[str],
        doc_texts: Sequence[str],
        refresh_every: int = 1000,
        initial: NegativeSampler | None = None,
        similarity: str = "cosine",
        seed: int = 0,
        qrels: dict[str, dict[str, int]] | None = None,
        **dense_kwargs,
    ) -> None:
        super().__init__(seed=seed, qrels=qrels)
        if refresh_every < 1:
            raise ValueError(f"DynamicHardNegatives(refresh_every={refresh_every}): must be >= 1")
        if len(doc_ids) != len(doc_texts):
            raise ValueError(f"DynamicHardNegatives: {len(doc_ids)} doc_ids but {len(doc_texts)} doc_texts")
        self.query_texts = query_texts
        self.doc_ids = list(doc_ids)
        self.doc_texts = list(doc_texts)
        self.refresh_every = refresh_every
        self.initial = initial
        self.similarity = check_similarity(type(self).__name__, similarity, FIXED_SIMILARITIES)
        self.dense_kwargs = dense_kwargs
        self.current_: DenseHardNegatives | None = None
        self.refresh_steps_: list[int] = []

    def due(self, step: int) -> bool:
        """True when ``step`` is a refresh step (0, refresh_every, 2·refresh_every, …) not done yet."""
        return step % self.refresh_every == 0 and (not self.refresh_steps_ or self.refresh_steps_[-1] != step)

    def step(self, step: int, encode_fn: EncodeFn | None = None) -> bool:
        if self.initial is not None:
            self.initial.step(step, encode_fn)
        if not self.due(step):
            return False
        if encode_fn is None:
            raise ValueError(f"DynamicHardNegatives.step(step={step}): a refresh is due but encode_fn is None")
        self.refresh(encode_fn)
        self.refresh_steps_.append(step)
        return True

    def refresh(self, encode_fn: EncodeFn) -> None:
        """Re-encode corpus and queries with ``encode_fn`` and rebuild the run."""
        qids = list(self.query_texts)
        q_emb = np.asarray(encode_fn([self.query_texts[q] for q in qids], "query"))
        d_emb = np.asarray(encode_fn(self.doc_texts, "doc"))
        seed = self.seed + len(self.refresh_steps_)  # a fresh, reproducible stream per refresh
        kwargs = {"seed": seed, "qrels": self.qrels, **self.dense_kwargs}
        self.current_ = DenseHardNegatives.from_embeddings(qids, q_emb, self.doc_ids, d_emb, self.similarity, **kwargs)

    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> list[list[str]]:
        if self.current_ is not None:
            return self.current_.sample(query_ids, positive_ids, n)
        if self.initial is not None:
            return self.initial.sample(query_ids, positive_ids, n)
        raise RuntimeError("DynamicHardNegatives.sample: no refresh yet; call step(0, encode_fn) first or give `initial`")


class AdversarialNegatives(NegativeSampler):
    """The current model's highest-scored wrong documents, scored live for each batch.

    Unlike :class:`DynamicHardNegatives` (a stale index refreshed now and then), the documents
    are scored by the model *as it is now* — e.g. with a frozen document index and the live query
    encoder, as ADORE does (Zhan et al. 2021, "Optimizing Dense Retrieval Model Training with Hard
    Negatives") — so they are exactly the documents that currently fool it. ``pick="softmax"``
    samples from softmax(score / temperature) over the top ``depth`` instead of taking the top,
    trading hardness for diversity (the generator side of IRGAN, Wang et al. 2017).

    Args:
        doc_ids: ids of the columns that ``score_fn`` returns.
        score_fn: query_ids -> array (B, len(doc_ids)) of current-model scores.
        depth: candidates considered per query.
        pick: ``"top"`` | ``"softmax"``; temperature: for ``"softmax"``.
        skip_top: ranks skipped after removing positives (false-negative guard).

    >>> s = AdversarialNegatives(["a", "b", "c"], lambda q: np.array([[0.9, 0.8, 0.1]]))
    >>> s.sample(["q"], [["a"]], n=1)
    [['b']]
    """

    def __init__(
        self,
        doc_ids: Sequence[str],
        score_fn: Callable[[Sequence[str]], np.ndarray],
        depth: int = 100,
        pick: str = "top",
        temperature: float = 0.05,
        skip_top: int = 0,
        seed: int = 0,
        qrels: dict[str, dict[str, int]] | None = None,
    ) -> None:
        super().__init__(seed=seed, qrels=qrels)
        if pick not in ("top", "softmax"):
            raise ValueError(f"AdversarialNegatives(pick={pick!r}): expected 'top' or 'softmax'")
        if not temperature > 0:
            raise ValueError(f"AdversarialNegatives(temperature={temperature}): must be > 0")
        self.doc_ids = list(doc_ids)
        self.score_fn = score_fn
        self.depth = depth
        self.pick = pick
        self.temperature = temperature
        self.skip_top = skip_top
        self.calls_ = 0

    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> list[list[str]]:
        self._check(query_ids, positive_ids, n)
        scores = np.asarray(self.score_fn(list(query_ids)), dtype=np.float64)
        if scores.shape != (len(query_ids), len(self.doc_ids)):
            raise ValueError(
                f"AdversarialNegatives: score_fn returned shape {scores.shape}, expected ({len(query_ids)}, {len(self.doc_ids)})"
            )
        self.calls_ += 1
        out = []
        for row, qid, pos in zip(scores, query_ids, positive_ids):
            excluded = self.excluded(qid, pos)
            k = min(len(row), self.depth + len(excluded) + self.skip_top)
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.lexsort((top, -row[top]))]  # by score, ties by column
            pool = [i for i in top if self.doc_ids[i] not in excluded][self.skip_top : self.skip_top + self.depth]
            if self.pick == "top" or len(pool) <= n:
                chosen = pool[:n]
            else:
                logits = row[pool] / self.temperature
                p = np.exp(logits - logits.max())
                chosen = [pool[i] for i in self.rng_.choice(len(pool), size=n, replace=False, p=p / p.sum())]
            out.append([self.doc_ids[i] for i in chosen])
        return out
