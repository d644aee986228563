"""More training objectives on frozen vectors: adaptive margins, translation alignment, temporal consistency.

The heads of :mod:`lessonlib.dual.frozen_heads` (a residual linear map per tower on cached MiniLM
vectors) trained with objectives that InfoNCE on (query, positive) pairs does not cover, each a
few seconds on a CPU. Taught in notebook 02 (§2.2 and §2.3 sections):

* :func:`bm25_triplets`, :func:`score_gaps`, :func:`fit_triplet_head` — (query, positive, negative)
  triplets with a per-triplet margin from a teacher's score gap
  (:class:`lessonlib.losses.AdaptiveMarginTripletLoss`).
* :func:`fit_alignment_head`, :func:`pair_recall_at_1` — align a sentence with its translation
  (:class:`lessonlib.losses.AdditiveMarginSoftmaxLoss`, LaBSE style) and measure it by the share of
  sentences whose nearest candidate is their own translation (:func:`pair_hits`).
* :func:`fit_dual_head_temporal` — InfoNCE on pairs plus λ times
  :class:`lessonlib.losses.TemporalConsistencyLoss` on the versions of documents; :func:`version_drift`.
* :func:`extend_table` — an :class:`EmbeddingTable` with extra (e.g. augmented) queries encoded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from lessonlib.core import config
from lessonlib.core.runs import Qrels, Run, rank_documents
from lessonlib.core.trainer import fit_shuffled
from lessonlib.dual.encode import encode
from lessonlib.dual.frozen_heads import (
    DualHead,
    EmbeddingTable,
    _in_batch_and_hard_mask,
    _threads,
)
from lessonlib.losses import (
    AdaptiveMarginTripletLoss,
    AdditiveMarginSoftmaxLoss,
    InfoNCELoss,
    TemporalConsistencyLoss,
)

Triplet = tuple[str, str, str]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def extend_table(table: EmbeddingTable, queries: Mapping[str, str], qrels: Qrels | None = None,
                 model: str = config.DEFAULT_MODEL) -> EmbeddingTable:
    """``table`` plus every query of ``queries`` it lacks, encoded by ``model`` (through the embedding cache).

    ``qrels`` (e.g. from :func:`lessonlib.data.augment.augment_queries`) are merged into the table's.
    """
    new = [q for q in queries if q not in set(table.query_ids)]
    vecs = np.asarray(encode(model, [queries[q] for q in new], kind="query", show_progress=False), np.float32) if new else \
        np.zeros((0, table.dim), np.float32)
    return EmbeddingTable(table.query_ids + new, np.vstack([table.queries, vecs.reshape(len(new), table.dim)]), table.doc_ids,
                          table.docs, {**table.qrels, **(qrels or {})}, {**table.query_texts, **{q: queries[q] for q in new}},
                          table.doc_texts)


# --------------------------------------------------------------------------- adaptive margins
def bm25_triplets(pairs: Sequence[tuple[str, str]], run: Run, qrels: Qrels, n_negatives: int = 3, depth: int = 30,
                  seed: int = 0) -> list[Triplet]:
    """(query, positive, negative) triplets: per pair, ``n_negatives`` drawn uniformly from the query's
    top-``depth`` non-relevant documents of ``run`` (best first: score descending, doc id descending).

    Drawing across the depth (not only the top one) gives negatives of every hardness, so a teacher's
    score gap varies from triplet to triplet.
    """
    if n_negatives < 1 or depth < 1:
        raise ValueError(f"bm25_triplets(n_negatives={n_negatives}, depth={depth}): both must be >= 1")
    rng = np.random.default_rng(seed)
    out: list[Triplet] = []
    for q, p in pairs:
        cands = [d for d in rank_documents(run.get(q, {})) if qrels.get(q, {}).get(d, 0) <= 0][:depth]
        if not cands:
            continue
        for j in rng.choice(len(cands), size=min(n_negatives, len(cands)), replace=False):
            out.append((q, p, cands[int(j)]))
    return out


def score_gaps(triplets: Sequence[Triplet], teacher: Run | EmbeddingTable) -> np.ndarray:
    """Teacher gap of each triplet, rank-normalised to [0, 1]: 0 = the teacher's smallest s(q,p) − s(q,n).

    ``teacher``: a run (BM25 scores; a document missing from a query's list gets the query's lowest
    listed score) or an :class:`EmbeddingTable` (cosine of its frozen vectors, the zero-shot model).
    Ranks (ties: average) make the gap scale-free, so one margin ``scale`` works for any teacher.
    """
    if not triplets:
        return np.zeros(0, np.float32)
    if isinstance(teacher, EmbeddingTable):
        q = _unit(teacher.q([t[0] for t in triplets]))
        raw = (q * _unit(teacher.d([t[1] for t in triplets]))).sum(1) - (q * _unit(teacher.d([t[2] for t in triplets]))).sum(1)
    else:
        def s(qid: str, did: str) -> float:
            row = teacher.get(qid, {})
            return row.get(did, min(row.values(), default=0.0))
        raw = np.array([s(q, p) - s(q, n) for q, p, n in triplets])
    order = np.argsort(raw, kind="stable")
    ranks = np.empty(len(raw))
    ranks[order] = np.arange(len(raw))
    for v in np.unique(raw):  # average rank for ties
        hit = raw == v
        ranks[hit] = ranks[hit].mean()
    return (ranks / max(len(raw) - 1, 1)).astype(np.float32)


def fit_triplet_head(head: DualHead, table: EmbeddingTable, triplets: Sequence[Triplet], loss: AdaptiveMarginTripletLoss,
                     gaps: np.ndarray | None = None, epochs: int = 5, batch_size: int = 32, lr: float = 1e-3,
                     seed: int = 0) -> list[float]:
    """Train ``head`` on triplets with ``loss`` (margins from ``gaps``; None: fixed). -> mean loss per epoch.

    Per batch: loss(f_q(q), f_d(p), f_d(n), gap) — queries through the query tower, documents through
    the document tower; Adam, seeded shuffles (:func:`lessonlib.core.trainer.fit_shuffled`).
    """
    if not triplets:
        raise ValueError("fit_triplet_head(triplets=[]): need at least one triplet")
    if gaps is not None and len(gaps) != len(triplets):
        raise ValueError(f"fit_triplet_head(gaps): {len(gaps)} gaps for {len(triplets)} triplets")
    q = torch.from_numpy(table.q([t[0] for t in triplets]))
    p = torch.from_numpy(table.d([t[1] for t in triplets]))
    n = torch.from_numpy(table.d([t[2] for t in triplets]))
    g = None if gaps is None else torch.as_tensor(np.asarray(gaps, np.float32))

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        return loss(head.embed(q[idx], "query"), head.embed(p[idx], "doc"), head.embed(n[idx], "doc"),
                    None if g is None else g[idx])

    with _threads(1):
        return fit_shuffled(head, len(triplets), batch_loss, epochs, batch_size, lr, seed)


# --------------------------------------------------------------------------- translation alignment
def pair_hits(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row i: is y_i strictly the most similar row of ``y`` to x_i (cosine)? -> bool (n,).

    A tie with the true pair counts as a miss. The mean is :func:`pair_recall_at_1`; the per-row
    hits let two models be compared pair by pair (:func:`lessonlib.evaluation.significance.compare_paired`).
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    if x.ndim != 2 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"pair_hits(x, y): expected two non-empty (n, d) arrays of one shape, got {x.shape} and {y.shape}")
    sims = _unit(x) @ _unit(y).T
    own = np.diag(sims).copy()
    np.fill_diagonal(sims, -np.inf)
    return own > sims.max(1)


def pair_recall_at_1(x: np.ndarray, y: np.ndarray) -> float:
    """Share of rows i whose most similar row of ``y`` (cosine) is y_i: translation retrieval accuracy.

    The bitext-retrieval measure of LASER / LaBSE (Tatoeba accuracy; Artetxe & Schwenk 2019). A tie
    with the true pair counts as a miss (the true pair must be strictly the best). See :func:`pair_hits`.
    """
    return float(pair_hits(x, y).mean())


def version_drift(head: DualHead | None, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """1 − cos(f_d(old_i), f_d(new_i)) per document version pair (``head`` None: the frozen vectors). -> (n,)."""
    a, b = (_unit(np.asarray(v, np.float32)) if head is None else head.transform(v, "doc") for v in (old, new))
    return 1.0 - (a * b).sum(1)


def fit_alignment_head(head: DualHead, x: np.ndarray, y: np.ndarray, loss: AdditiveMarginSoftmaxLoss | None = None,
                       kinds: tuple[str, str] = ("query", "doc"), epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
                       seed: int = 0) -> list[float]:
    """Train ``head`` so that x_i (through tower ``kinds[0]``) and y_i (tower ``kinds[1]``) align.

    ``x``/``y`` (n, d): frozen vectors of sentences and their translations, row i a parallel pair.
    Loss: :class:`lessonlib.losses.AdditiveMarginSoftmaxLoss` (default scale 20, margin 0.3) with the
    batch's other rows as negatives. -> mean loss per epoch.
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    if x.shape != y.shape or len(x) < 2:
        raise ValueError(f"fit_alignment_head(x, y): expected two (n >= 2, d) arrays of one shape, got {x.shape} and {y.shape}")
    loss = loss or AdditiveMarginSoftmaxLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    with _threads(1):
        return fit_shuffled(head, len(x), lambda idx: loss(head.embed(tx[idx], kinds[0]), head.embed(ty[idx], kinds[1])),
                            epochs, batch_size, lr, seed)


# --------------------------------------------------------------------------- temporal consistency
def fit_dual_head_temporal(head: DualHead, table: EmbeddingTable, pairs: Sequence[tuple[str, str]],
                           old: np.ndarray, new: np.ndarray, dt: np.ndarray | None = None, weight: float = 1.0,
                           temporal: TemporalConsistencyLoss | None = None, temperature: float = 0.05, epochs: int = 5,
                           batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """InfoNCE on (query, positive) ``pairs`` plus ``weight`` × temporal consistency on document versions.

        L = InfoNCE_τ(f_q(q), f_d(p)) + λ · TemporalConsistency(f_d(old_j), f_d(new_j), Δt_j)

    For each batch of pairs (in-batch negatives, relevant candidates masked as in
    :func:`lessonlib.dual.frozen_heads.fit_dual_head`) a batch of ``batch_size`` version pairs is
    drawn (seeded) from ``old``/``new`` (n, d), frozen vectors of two versions of n documents.
    ``weight=0`` is plain InfoNCE. -> mean loss per epoch.
    """
    if weight < 0:
        raise ValueError(f"fit_dual_head_temporal(weight={weight}): must be >= 0")
    old_t, new_t = torch.as_tensor(np.asarray(old, np.float32)), torch.as_tensor(np.asarray(new, np.float32))
    if old_t.shape != new_t.shape or len(old_t) == 0:
        raise ValueError(f"fit_dual_head_temporal(old, new): expected two non-empty (n, d) arrays of one shape, "
                         f"got {tuple(old_t.shape)} and {tuple(new_t.shape)}")
    dt_t = None if dt is None else torch.as_tensor(np.asarray(dt, np.float32))
    temporal = temporal or TemporalConsistencyLoss()
    infonce = InfoNCELoss(temperature)
    pairs = list(pairs)
    q = torch.from_numpy(table.q([a for a, _ in pairs]))
    p = torch.from_numpy(table.d([b for _, b in pairs]))
    gen = torch.Generator().manual_seed(seed + 1)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        rows = [pairs[i] for i in idx.tolist()]
        mask = _in_batch_and_hard_mask([a for a, _ in rows], [b for _, b in rows], [], table.qrels)
        value = infonce(head.embed(q[idx], "query"), head.embed(p[idx], "doc"), mask=mask)
        if weight > 0:
            j = torch.randint(len(old_t), (min(batch_size, len(old_t)),), generator=gen)
            value = value + weight * temporal(head.embed(old_t[j], "doc"), head.embed(new_t[j], "doc"),
                                              None if dt_t is None else dt_t[j])
        return value

    with _threads(1):
        return fit_shuffled(head, len(pairs), batch_loss, epochs, batch_size, lr, seed)
