"""Small trainable heads on FROZEN embeddings: study training choices in seconds, not hours.

Fine-tuning a transformer on two CPU cores takes minutes per run; an ablation of ten training
choices takes an afternoon. Freezing the encoder and training only a small head on its cached
vectors keeps the *question* (which negatives? which loss? which objective?) and removes the cost:
a run is a few hundred matrix products on (n, 384) arrays.

* :class:`DualHead` — a dual encoder: each tower is a residual linear map of the frozen vector,
  ``f(x) = normalize(x + x A)``, A (dim, dim) initialised at 0, so training starts exactly at the
  zero-shot model. Queries and documents get separate maps (asymmetric towers) unless ``shared``.
  Score = cosine. Trained with InfoNCE (:class:`lessonlib.losses.InfoNCELoss`) on in-batch
  negatives plus the negatives of any :mod:`lessonlib.dual.samplers` sampler (:func:`fit_dual_head`).
* :class:`PairHead` — a joint (cross-style) scorer of one (query, document) pair:
  ``s(q, d) = a·cos(q, d) + MLP([q; d; q⊙d; |q−d|])`` (the matching features of InferSent,
  Conneau et al. 2017). Unlike a dot product it is not restricted to rank-``dim`` score matrices.
  Trained on lists (1 positive + n negatives, :class:`lessonlib.cross.data.Group`) with any
  objective of :mod:`lessonlib.losses.ranking` (:func:`fit_pair_head`).

Both read vectors from an :class:`EmbeddingTable` (ids -> rows of the cached embeddings).
These are stand-ins, not replacements: a frozen encoder limits what any head can learn; the
fine-tuned transformer results are in notebooks 03 (dual) and 15 (cross) and in bench/.

>>> table = EmbeddingTable.from_dataset(course_dataset("train"))          # doctest: +SKIP
>>> head = DualHead(table.dim)
>>> history = fit_dual_head(head, table, relevant_pairs(table.qrels), epochs=3)   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.core import config
from lessonlib.losses.ranking import get_loss
from lessonlib.dual.train import no_duplicate_batches
from lessonlib.dual.encode import encode, load_model
from lessonlib.evaluation.metrics import evaluate
from lessonlib.losses import InfoNCELoss
from lessonlib.core.runs import Qrels, Run, rank_documents, scores_to_run
from lessonlib.core.trainer import Trainer, TrainerConfig
from lessonlib.dual.samplers import CrossBatchMemory


@contextlib.contextmanager
def _threads(n: int | None):
    """``torch.set_num_threads(n)`` inside the block, the previous value restored after."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- the embeddings
@dataclass
class EmbeddingTable:
    """Frozen embeddings of one collection: ``queries`` (nq, dim) and ``docs`` (nd, dim), rows in id order.

    ``query_texts`` / ``doc_texts`` are kept so a sampler that re-encodes texts
    (:class:`lessonlib.dual.samplers.DynamicHardNegatives`) can be served from the table
    (:meth:`encode_fn`).
    """

    query_ids: list[str]
    queries: np.ndarray
    doc_ids: list[str]
    docs: np.ndarray
    qrels: Qrels = field(default_factory=dict)
    query_texts: dict[str, str] = field(default_factory=dict)
    doc_texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.queries.shape[0] != len(self.query_ids) or self.docs.shape[0] != len(self.doc_ids):
            raise ValueError(
                f"EmbeddingTable: {len(self.query_ids)} query ids for {self.queries.shape[0]} rows, "
                f"{len(self.doc_ids)} doc ids for {self.docs.shape[0]} rows"
            )
        self._q_row = {q: i for i, q in enumerate(self.query_ids)}
        self._d_row = {d: i for i, d in enumerate(self.doc_ids)}

    @classmethod
    def from_dataset(cls, dataset, model: str = config.DEFAULT_MODEL, **encode_kwargs) -> EmbeddingTable:
        """Encode (through the embedding cache) every query and document of a ``Dataset``."""
        kwargs = {"show_progress": False, **encode_kwargs}
        qids = list(dataset.queries)
        q = encode(model, [dataset.queries[x] for x in qids], kind="query", **kwargs)
        texts = dataset.doc_texts()
        d = encode(model, texts, kind="doc", **kwargs)
        return cls(qids, np.asarray(q, np.float32), list(dataset.doc_ids), np.asarray(d, np.float32),
                   dict(dataset.qrels), dict(dataset.queries), texts)

    @property
    def dim(self) -> int:
        return int(self.docs.shape[1])

    def q(self, ids: Sequence[str]) -> np.ndarray:
        """Query vectors (len(ids), dim)."""
        return self.queries[[self._q_row[i] for i in ids]]

    def d(self, ids: Sequence[str]) -> np.ndarray:
        """Document vectors (len(ids), dim)."""
        return self.docs[[self._d_row[i] for i in ids]]

    def encode_fn(self, head: DualHead | None = None) -> Callable[[Sequence[str], str], np.ndarray]:
        """``encode_fn(texts, kind)`` for samplers: looks texts up in the table, then applies ``head``."""
        q_text = {t: self._q_row[q] for q, t in self.query_texts.items() if q in self._q_row}
        d_text = {t: i for i, t in enumerate(self.doc_texts)}

        def encode_fn(texts: Sequence[str], kind: str) -> np.ndarray:
            rows = [(q_text if kind == "query" else d_text)[t] for t in texts]
            x = (self.queries if kind == "query" else self.docs)[rows]
            return head.transform(x, kind) if head is not None else x

        return encode_fn


# --------------------------------------------------------------------------- the dual head
class DualHead(nn.Module):
    """Two residual linear towers on frozen vectors: f(x) = normalize(x + x A_kind).

    A_query and A_doc are (dim, dim), zero at the start (so the head *is* the zero-shot model
    before training); ``shared=True`` uses one matrix for both (a Siamese dual encoder);
    ``rank=r`` factorises each A = U Vᵀ (U, V of shape (dim, r), V = 0 at the start: a LoRA-style
    low-rank update, fewer parameters, less memorisation). Freeze a tower with
    ``head.doc_map.requires_grad_(False)`` (e.g. to keep an index valid).
    Shapes: (B, dim) -> (B, dim), unit length.

    >>> head = DualHead(4)
    >>> bool(torch.allclose(head.embed(torch.eye(4), "query"), torch.eye(4)))
    True
    """

    def __init__(self, dim: int, shared: bool = False, rank: int | None = None, seed: int = 0) -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"DualHead(dim={dim}): dim must be >= 1")
        if rank is not None and not 1 <= rank <= dim:
            raise ValueError(f"DualHead(rank={rank}): rank must be in [1, dim={dim}] or None (full)")
        self.dim = dim
        self.shared = shared
        self.rank = rank
        gen = torch.Generator().manual_seed(seed)

        def make() -> nn.ParameterList:
            if rank is None:  # A = W, (dim, dim), zero
                return nn.ParameterList([nn.Parameter(torch.zeros(dim, dim))])
            # A = U V^T with V = 0 at the start (LoRA's initialisation, Hu et al. 2022)
            return nn.ParameterList([nn.Parameter(torch.randn(dim, rank, generator=gen) / dim**0.5),
                                     nn.Parameter(torch.zeros(dim, rank))])

        self.query_map = make()
        self.doc_map = self.query_map if shared else make()

    @staticmethod
    def _update(x: torch.Tensor, params: nn.ParameterList) -> torch.Tensor:
        if len(params) == 1:
            return x @ params[0]
        return (x @ params[0]) @ params[1].T

    def embed(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind not in ("query", "doc"):
            raise ValueError(f"DualHead.embed(kind={kind!r}): expected 'query' or 'doc'")
        return F.normalize(x + self._update(x, self.query_map if kind == "query" else self.doc_map), dim=-1)

    @torch.no_grad()
    def transform(self, x: np.ndarray, kind: str) -> np.ndarray:
        """numpy (n, dim) -> numpy (n, dim), unit rows."""
        return self.embed(torch.as_tensor(np.asarray(x, np.float32)), kind).numpy()

    def score_matrix(self, q: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Cosine scores (nq, nd) of raw (frozen) query and document vectors."""
        return self.transform(q, "query") @ self.transform(d, "doc").T


def _in_batch_and_hard_mask(qids: Sequence[str], pos_ids: Sequence[str], neg_ids: Sequence[str | None],
                            qrels: Qrels) -> torch.Tensor:
    """(B, B + len(neg_ids)) bool: False where a candidate is relevant to the row's query (a false negative)."""
    cols = list(pos_ids) + list(neg_ids)
    mask = np.ones((len(qids), len(cols)), dtype=bool)
    for i, q in enumerate(qids):
        relevant = {d for d, g in qrels.get(q, {}).items() if g > 0} | {pos_ids[i]}
        for j, d in enumerate(cols):
            if j != i and d in relevant:
                mask[i, j] = False
    return torch.from_numpy(mask)


def fit_dual_head(
    head: DualHead,
    table: EmbeddingTable,
    pairs: Sequence[tuple[str, str]],
    sampler=None,
    n_negatives: int = 1,
    loss: str = "infonce",
    temperature: float = 0.05,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 1e-3,
    anchor: dict[str, torch.Tensor] | None = None,
    anchor_weight: float = 0.0,
    seed: int = 0,
    progress: bool = False,
    num_threads: int | None = 1,
    memory: CrossBatchMemory | None = None,
    eval_fn: Callable[[DualHead], dict] | None = None,
    eval_every: int | None = None,
) -> list[dict]:
    """Train ``head`` on (query id, positive id) ``pairs`` of ``table``; returns the per-step history.

    Loss (``loss="infonce"``), for a batch of B pairs and the sampler's n negatives per query::

        L = InfoNCE_τ(f(q), f(p), f(negatives)) + anchor_weight · Σ ||A − A_anchor||²

    (every query sees every candidate of the batch; candidates relevant to a query are masked out).
    ``loss="alignment"`` drops the negatives: L = mean(1 − cos(f(q), f(p))), the positives-only
    objective that lets every vector collapse onto one point (Wang & Isola 2020).

    The L2 pull towards ``anchor`` (a previous ``head.state_dict()``) is L2-SP (Li, Grandvalet &
    Davoine 2018), the simplest guard against catastrophic forgetting. A sampler that exposes
    ``feedback(p_pos)`` (:class:`lessonlib.dual.samplers.adaptive.AdaptiveHardNegatives`) receives the
    batch's mean softmax probability of the positive after each step, and ``step(step,
    encode_fn)`` is called before each batch (dynamic samplers re-mine from the current head).

    ``num_threads`` (default 1) is set for the call and restored after: on tensors this small,
    torch's intra-op threads cost more than they save, all the more on a busy machine.

    ``memory`` (a :class:`lessonlib.dual.samplers.CrossBatchMemory`, infonce only) adds a cross-batch
    memory, XBM (Wang, Zhang, Huang & Scott 2020, "Cross-Batch Memory for Embedding Learning"):
    the positives' document vectors of past batches, detached, join every query's candidates::

        L_i = −log  exp(s_ii/τ) / ( Σ_{c ∈ batch} exp(s_ic/τ) + Σ_{m ∈ M} exp(q_i·m/τ) )

    where M holds the last ``memory.size`` enqueued vectors (no gradient flows into them; memory
    entries relevant to the query are masked out). After each step the batch's positives are
    enqueued (oldest dropped first). The memory is used as given (not reset); pass a fresh one per run.

    ``eval_fn(head) -> dict`` runs every ``eval_every`` steps and at the end; its results are
    history rows ``{"step", "epoch", "eval": {...}}`` (e.g. a learning curve on validation).

    History rows: ``step, epoch, loss, p_pos`` (mean probability of the positive among the
    candidates), ``n_neg`` (infonce: mean number of negatives each query was scored against, after
    masking), ``memory`` (with a memory: entries used), ``grad_norm`` and, with a sampler,
    ``neg_cos`` (mean cosine of each query with its own
    negatives: their hardness).
    """
    if loss not in ("infonce", "alignment"):
        raise ValueError(f"fit_dual_head(loss={loss!r}): expected 'infonce' or 'alignment'")
    if not pairs:
        raise ValueError("fit_dual_head(pairs=[]): need at least one (query, positive) pair")
    if memory is not None and loss != "infonce":
        raise ValueError(f"fit_dual_head(loss={loss!r}, memory=...): a cross-batch memory needs loss='infonce'")
    if sampler is not None and n_negatives < 1:
        raise ValueError(f"fit_dual_head(n_negatives={n_negatives}): must be >= 1 with a sampler")
    criterion = InfoNCELoss(temperature)
    anchor = {k: v.detach().clone() for k, v in anchor.items()} if anchor is not None else None
    encode_fn = table.encode_fn(head)
    counter = {"step": 0}

    def batches(epoch: int) -> list[list[tuple[str, str]]]:
        # no query and no positive twice in a batch (an in-batch negative is never the own positive)
        out = no_duplicate_batches(list(pairs), batch_size, np.random.default_rng(seed + 7919 * epoch))
        return [b for b in out if len(b) >= 2]

    def loss_fn(model: DualHead, batch: list[tuple[str, str]]):
        qids = [q for q, _ in batch]
        pos_ids = [p for _, p in batch]
        if sampler is not None and hasattr(sampler, "step"):
            sampler.step(counter["step"], encode_fn)
        counter["step"] += 1
        q = model.embed(torch.from_numpy(table.q(qids)), "query")
        p = model.embed(torch.from_numpy(table.d(pos_ids)), "doc")
        logs: dict[str, float] = {}
        if loss == "alignment":
            value = (1 - (q * p).sum(-1)).mean()
            with torch.no_grad():
                logits = q @ p.T / temperature
        else:
            neg_ids: list[str] = []
            neg = None
            if sampler is not None:
                negs = sampler.sample(qids, [[x] for x in pos_ids], n_negatives)
                neg_ids = [d for row in negs for d in row]
                if neg_ids:
                    neg = model.embed(torch.from_numpy(table.d(neg_ids)), "doc")
                    owner = torch.tensor([i for i, row in enumerate(negs) for _ in row])
                    logs["neg_cos"] = float((q.detach()[owner] * neg.detach()).sum(-1).mean())  # each query vs its own negatives
            mem_ids: list[str | None] = []
            if memory is not None and len(memory):  # XBM: past batches' positives, detached
                mem_ids, past = memory.ids, memory.negatives().to(q.dtype)
                neg = past if neg is None else torch.cat([neg, past])
                logs["memory"] = float(len(mem_ids))
            mask = _in_batch_and_hard_mask(qids, pos_ids, [*neg_ids, *mem_ids], table.qrels)
            logs["n_neg"] = float(mask.sum(1).double().mean()) - 1.0
            value = criterion(q, p, neg, mask=mask)
            with torch.no_grad():
                logits = criterion.logits(q, p, neg).masked_fill(~mask, float("-inf"))
        p_pos = float(logits.softmax(-1).diagonal().mean())
        logs["p_pos"] = p_pos
        if anchor is not None and anchor_weight > 0:
            value = value + anchor_weight * sum(((prm - anchor[name]) ** 2).sum() for name, prm in model.named_parameters())
        if sampler is not None and hasattr(sampler, "feedback"):
            sampler.feedback(p_pos)
        if memory is not None:
            memory.enqueue(p.detach(), ids=pos_ids)
        return value, logs

    cfg = TrainerConfig(lr=lr, epochs=epochs, batch_size=batch_size, warmup=0.0, schedule="constant",
                        weight_decay=0.0, max_grad_norm=None, seed=seed, progress=progress, device="cpu", bf16=False,
                        eval_every=eval_every)
    with _threads(num_threads):
        return Trainer(head, loss_fn, cfg, eval_fn=eval_fn).train(batches)


def dual_head_run(head: DualHead | None, table: EmbeddingTable, query_ids: Sequence[str] | None = None, k: int = 100,
                  doc_head: DualHead | None | str = "same") -> Run:
    """Exhaustive cosine retrieval over ``table.docs``: queries through ``head`` (None: the frozen
    zero-shot vectors), documents through ``doc_head`` (default: the same head).

    A different ``doc_head`` simulates a *stale index*: documents encoded by an older document
    tower, queries by the new query tower.
    """
    qids = list(table.query_ids if query_ids is None else query_ids)
    doc_head = head if doc_head == "same" else doc_head

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    q = unit(table.q(qids)) if head is None else head.transform(table.q(qids), "query")
    d = unit(table.docs) if doc_head is None else doc_head.transform(table.docs, "doc")
    return scores_to_run(qids, table.doc_ids, q @ d.T, min(k, len(table.doc_ids)))


# --------------------------------------------------------------------------- the pair head
class PairHead(nn.Module):
    """A joint scorer of (query, document) vectors: s = a·cos(q, d) + w·relu(W [q; d; q⊙d; |q−d|] + b) + c.

    ``features`` picks the MLP's inputs among ``"q"``, ``"d"``, ``"prod"`` (q⊙d), ``"absdiff"``
    (|q−d|); ``bilinear=r`` adds a rank-r bilinear term Σ_k (q U_k)(d V_k) (a factorised neural
    tensor layer, Socher et al. 2013). ``a`` starts at 1/τ₀ = 20 and the MLP's output layer at 0,
    so the head starts as the zero-shot cosine ranking. Shapes: q, d (B, dim) -> (B,).

    >>> head = PairHead(8)
    >>> head(torch.randn(3, 8), torch.randn(3, 8)).shape
    torch.Size([3])
    """

    FEATURES = ("q", "d", "prod", "absdiff")

    def __init__(self, dim: int, hidden: int = 64, features: Sequence[str] = FEATURES, bilinear: int = 0,
                 use_cosine: bool = True, seed: int = 0) -> None:
        super().__init__()
        bad = [f for f in features if f not in self.FEATURES]
        if bad:
            raise ValueError(f"PairHead(features={list(features)!r}): each must be one of {self.FEATURES}")
        if hidden < 1 and features:
            raise ValueError(f"PairHead(hidden={hidden}): hidden must be >= 1")
        gen = torch.Generator().manual_seed(seed)
        self.features = tuple(features)
        self.use_cosine = use_cosine
        self.scale = nn.Parameter(torch.tensor(20.0 if use_cosine else 0.0))
        self.mlp = None
        if self.features:
            first = nn.Linear(dim * len(self.features), hidden)
            with torch.no_grad():
                first.weight.copy_(torch.randn(first.weight.shape, generator=gen) / np.sqrt(first.in_features))
                first.bias.zero_()
            last = nn.Linear(hidden, 1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.mlp = nn.Sequential(first, nn.ReLU(), last)
        self.U = self.V = None
        if bilinear:
            self.U = nn.Parameter(torch.randn(dim, bilinear, generator=gen) / np.sqrt(dim))
            self.V = nn.Parameter(torch.zeros(dim, bilinear))

    def forward(self, q: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        score = torch.zeros(q.shape[0], dtype=q.dtype)
        if self.use_cosine:
            score = score + self.scale * F.cosine_similarity(q, d, dim=-1)
        if self.mlp is not None:
            parts = {"q": q, "d": d, "prod": q * d, "absdiff": (q - d).abs()}
            score = score + self.mlp(torch.cat([parts[f] for f in self.features], dim=-1)).squeeze(-1)
        if self.U is not None:
            score = score + ((q @ self.U) * (d @ self.V)).sum(-1)
        return score

    @torch.no_grad()
    def score(self, q: np.ndarray, d: np.ndarray) -> np.ndarray:
        """numpy (n, dim), (n, dim) -> scores (n,)."""
        self.eval()
        return self(torch.as_tensor(np.asarray(q, np.float32)), torch.as_tensor(np.asarray(d, np.float32))).numpy()


def fit_pair_head(
    head: PairHead,
    table: EmbeddingTable,
    groups: Sequence,
    objective: str = "softmax_ce",
    epochs: int = 5,
    batch_size: int = 16,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = False,
    num_threads: int | None = 1,
) -> list[dict]:
    """Train ``head`` on lists ``groups`` (:class:`lessonlib.cross.data.Group` with ``meta["doc_ids"]``,
    or ``(qid, [doc ids], labels)`` tuples) with the cross objective named ``objective``
    (``bce``, ``ranknet``, ``softmax_ce``, ``lambda``, ``listnet`` ... see
    :data:`lessonlib.losses.ranking.LOSSES`). All lists must have the same length."""
    lists = [(g.qid, list(g.meta["doc_ids"]), list(g.labels)) if hasattr(g, "meta") else tuple(g) for g in groups]
    if not lists:
        raise ValueError("fit_pair_head(groups=[]): need at least one list")
    n = len(lists[0][1])
    if any(len(docs) != n for _, docs, _ in lists):
        raise ValueError("fit_pair_head(groups): every list must have the same number of documents")
    objective_fn = get_loss(objective)

    def loss_fn(model: PairHead, batch):
        q = torch.from_numpy(np.repeat(table.q([x[0] for x in batch]), n, axis=0))
        d = torch.from_numpy(table.d([doc for x in batch for doc in x[1]]))
        labels = torch.tensor([x[2] for x in batch], dtype=torch.float32)
        return objective_fn(model(q, d).view(len(batch), n), labels)

    cfg = TrainerConfig(lr=lr, epochs=epochs, batch_size=batch_size, warmup=0.0, schedule="constant",
                        weight_decay=0.0, max_grad_norm=None, seed=seed, progress=progress, device="cpu", bf16=False)
    with _threads(num_threads):
        return Trainer(head, loss_fn, cfg).train(lists)


def pair_head_rerank(head: PairHead, table: EmbeddingTable, run: Run, k: int = 100) -> Run:
    """The top ``k`` of each query of ``run`` re-scored by ``head`` (queries missing from the table are skipped)."""
    out: Run = {}
    for qid, docs in run.items():
        if qid not in table._q_row:
            continue
        top = rank_documents(docs, k)
        if not top:
            continue
        scores = head.score(np.repeat(table.q([qid]), len(top), axis=0), table.d(top))
        out[qid] = {d: float(s) for d, s in zip(top, scores)}
    return out


# --------------------------------------------------------------------------- learned similarities (§1.2)
class MetricHead(nn.Module):
    """A learned similarity on frozen unit vectors q, d (Day 10.1 §1.2); trained by :func:`fit_dual_head`.

    * ``kind="bilinear"``: s(q, d) = qᵀ W d with W (dim, dim) = I at the start (so the head starts as
      the zero-shot cosine). As towers: query ↦ Wᵀq, document ↦ d, so retrieval is still one
      matrix product (a bilinear score is an asymmetric linear tower on one side).
    * ``kind="projection"``: s(q, d) = cos(Pᵀq, Pᵀd) with P (dim, rank): the cosine under the
      low-rank metric M = P Pᵀ (Mahalanobis-style metric learning: the metric is learned as a
      projection, Weinberger & Saul 2009; Kulis 2013). P starts at the top-``rank`` right singular
      vectors of ``init`` (e.g. the training documents), else at the first ``rank`` axes.

    :func:`fit_dual_head`'s InfoNCE scores cos(Wᵀq, d) = qᵀWd / ‖Wᵀq‖ (d is unit length): per query a
    constant factor, so the ranking it trains is the ranking of qᵀWd that :func:`dual_head_run` returns.
    Shapes: (B, dim) -> (B, dim) (bilinear) or (B, rank) (projection).

    >>> head = MetricHead(4)
    >>> bool(torch.allclose(head.embed(torch.eye(4), "query"), torch.eye(4)))
    True
    """

    KINDS = ("bilinear", "projection")

    def __init__(self, dim: int, kind: str = "bilinear", rank: int = 64, init: np.ndarray | None = None) -> None:
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"MetricHead(kind={kind!r}): expected one of {self.KINDS}")
        if kind == "projection" and not 1 <= rank <= dim:
            raise ValueError(f"MetricHead(rank={rank}): rank must be in [1, dim={dim}]")
        self.dim, self.kind = dim, kind
        if kind == "bilinear":
            self.W = nn.Parameter(torch.eye(dim))
            return
        if init is not None:
            _, _, vt = np.linalg.svd(np.asarray(init, np.float32), full_matrices=False)
            start = torch.from_numpy(np.ascontiguousarray(vt[:rank].T))
        else:
            start = torch.eye(dim)[:, :rank]
        self.P = nn.Parameter(start.clone())

    def embed(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind not in ("query", "doc"):
            raise ValueError(f"MetricHead.embed(kind={kind!r}): expected 'query' or 'doc'")
        if self.kind == "bilinear":
            return x @ self.W if kind == "query" else x
        return F.normalize(x @ self.P, dim=-1)

    @torch.no_grad()
    def transform(self, x: np.ndarray, kind: str) -> np.ndarray:
        """numpy (n, dim) -> numpy (n, dim or rank): the tower outputs whose dot product is s(q, d)."""
        return self.embed(torch.as_tensor(np.asarray(x, np.float32)), kind).numpy()


# --------------------------------------------------------------------------- attention pooling (§1.3)
class AttentionPooling(nn.Module):
    """Self-attentive pooling of token vectors h_1..h_T (Lin et al. 2017, one attention hop):

        a = softmax_t( w₂ᵀ tanh(W₁ᵀ h_t) ),   v = Σ_t a_t h_t

    W₁ (dim, hidden) random, w₂ (hidden,) zero at the start: every real token gets the same weight,
    so training starts from mean pooling. ``mask`` (B, T) bool marks the real tokens.
    Shapes: h (B, T, dim), mask (B, T) -> (B, dim); :meth:`weights` -> (B, T).
    """

    def __init__(self, dim: int, hidden: int = 64, seed: int = 0) -> None:
        super().__init__()
        if dim < 1 or hidden < 1:
            raise ValueError(f"AttentionPooling(dim={dim}, hidden={hidden}): both must be >= 1")
        gen = torch.Generator().manual_seed(seed)
        self.W1 = nn.Parameter(torch.randn(dim, hidden, generator=gen) / dim**0.5)
        self.w2 = nn.Parameter(torch.zeros(hidden))

    def weights(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = torch.tanh(h @ self.W1) @ self.w2
        return logits.masked_fill(~mask, float("-inf")).softmax(-1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.weights(h, mask).unsqueeze(-1) * h).sum(1)


def _mean_pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


class PooledDualHead(DualHead):
    """A :class:`DualHead` whose inputs may be token vectors: (B, T, dim), zero rows = padding, are
    pooled first (``pooling="mean"`` or ``"attention"``, :class:`AttentionPooling`), then the residual
    towers apply; (B, dim) inputs (e.g. frozen document vectors) pass straight to the towers.

    With raw token vectors (:func:`query_token_table`) and mean pooling the head starts exactly at
    the zero-shot MiniLM model (mean pooling, then the towers' normalisation); attention pooling
    starts there too (w₂ = 0) and learns which tokens count.
    """

    def __init__(self, dim: int, pooling: str = "attention", hidden: int = 64, shared: bool = False,
                 rank: int | None = None, seed: int = 0) -> None:
        super().__init__(dim, shared=shared, rank=rank, seed=seed)
        if pooling not in ("mean", "attention"):
            raise ValueError(f"PooledDualHead(pooling={pooling!r}): expected 'mean' or 'attention'")
        self.pooling = pooling
        self.attention = AttentionPooling(dim, hidden, seed) if pooling == "attention" else None

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, dim) zero-padded token vectors -> (B, dim)."""
        mask = x.abs().sum(-1) > 0
        return _mean_pool(x, mask) if self.attention is None else self.attention(x, mask)

    def embed(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        return super().embed(self.pool(x) if x.dim() == 3 else x, kind)


def query_token_table(table: EmbeddingTable, model=config.DEFAULT_MODEL, max_length: int | None = None,
                      batch_size: int = 64) -> EmbeddingTable:
    """A copy of ``table`` whose ``queries`` are each query's raw last-layer token vectors, (nq, T, dim)
    float32, zero-padded to the longest query (T ≤ ``max_length``, special tokens kept); documents unchanged.

    Raw (not normalised) vectors, so their mean over the real tokens, normalised, is the model's own
    query vector (for a model with mean pooling and no projection, as all-MiniLM-L6-v2). Only the
    queries: they are short, and their tokens cost a second or two to encode, while a corpus's token
    vectors cost a full transformer pass that the embedding cache does not hold.
    """
    enc = model if isinstance(model, nn.Module) else load_model(model)
    tower = enc.tower("query")
    if enc.query_proj is not None or not hasattr(tower, "token_vectors"):
        raise ValueError("query_token_table(model=...): needs a transformer query tower without a projection")
    max_length = int(max_length or enc.max_length_for("query"))
    ids = tower.pretokenize([table.query_texts[q] for q in table.query_ids])
    order = np.argsort([len(x) for x in ids], kind="stable")  # batches of similar lengths: little padding
    parts = []
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            rows = order[start:start + batch_size]
            batch = {k: v.to(enc.device) for k, v in tower.collate([ids[i] for i in rows], max_length).items()}
            hidden = tower.token_vectors(batch) * batch["attention_mask"].unsqueeze(-1)
            parts.append((rows, hidden.float().cpu().numpy()))
    out = np.zeros((len(ids), max(h.shape[1] for _, h in parts), enc.dim), np.float32)
    for rows, h in parts:
        out[rows, :h.shape[1]] = h
    return EmbeddingTable(table.query_ids, out, table.doc_ids, table.docs, table.qrels, table.query_texts, table.doc_texts)


def fit_on_validation(make_head: Callable[[], nn.Module], table: EmbeddingTable, pairs: Sequence[tuple[str, str]],
                      val_ids: Sequence[str], epochs: Sequence[int] = (3, 10), **fit_kwargs) -> tuple[nn.Module, dict[int, float]]:
    """Train a fresh ``make_head()`` with :func:`fit_dual_head` for each number of ``epochs``; return the
    head with the best validation nDCG@10 (queries ``val_ids`` of ``table``, judged by ``table.qrels``;
    ties: fewer epochs) and ``{epochs: validation nDCG@10}``. The test split plays no part."""
    if not epochs or not val_ids:
        raise ValueError("fit_on_validation: need at least one epochs value and one validation query")
    qrels = {q: table.qrels[q] for q in val_ids if q in table.qrels}
    heads, scores = {}, {}
    for ep in sorted(set(epochs)):
        heads[ep] = make_head()
        fit_dual_head(heads[ep], table, pairs, epochs=ep, **fit_kwargs)
        scores[ep] = evaluate(qrels, dual_head_run(heads[ep], table, val_ids), ["ndcg@10"])["ndcg@10"]
    best = max(scores, key=lambda e: (scores[e], -e))
    return heads[best], scores
