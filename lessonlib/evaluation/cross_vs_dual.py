"""Measurements that answer "why" questions about dual and cross encoders.

* Embedding geometry (alignment, uniformity, effective rank) lives in :mod:`lessonlib.dual.geometry`.
* Contrastive-loss theory — :func:`infonce_profile`: InfoNCE's value, its gradient and where the
  gradient goes (the hardest negative's share) as the temperature moves, and the mutual-information
  lower bound log C − L (van den Oord et al. 2018).
* Representational capacity — a dual encoder scores with a dot product, so its score matrix over
  any set of queries and documents has rank ≤ d; a cross-encoder scores each pair with an arbitrary
  function. :func:`fit_sign_pattern` fits free d-dimensional query and document vectors to a target
  relevant / not-relevant pattern with a dot product or with a joint MLP of the same vectors, and
  :func:`low_rank_scores` gives the best rank-d approximation of any score matrix (Eckart & Young
  1936), i.e. the best a d-dimensional dual encoder could do in squared error. The smallest d for
  which a dot product can reproduce a sign pattern is its *sign rank*; random n × n patterns need
  d of order n (Forster 2002; Alon, Frankl & Rödl 1985), and Luan, Eisenstein, Toutanova & Collins
  2021 ("Sparse, Dense, and Attentional Representations for Text Retrieval") relate the dimension
  a dual encoder needs to the length of the documents it must tell apart.
* Cost — :func:`dual_cross_cost`: total and per-query compute of a dual encoder (encode the corpus
  once, then one query pass per query) against a cross-encoder (one pass per candidate pair).
* Continual learning — :func:`forgetting`: average accuracy, average forgetting (Chaudhry et al.
  2018) and backward transfer (Lopez-Paz & Ranzato 2017) from a task × task accuracy matrix.

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lessonlib.core.similarity import check_similarity
from lessonlib.core.vectors import l2_normalize


# --------------------------------------------------------------------------- InfoNCE theory
@dataclass
class InfoNCEProfile:
    """InfoNCE at several temperatures (arrays aligned with ``temperatures``)."""

    temperatures: np.ndarray
    loss: np.ndarray  # mean InfoNCE (nats)
    grad_norm: np.ndarray  # mean over queries of ||dL/dq||
    hardest_share: np.ndarray  # share of the negatives' softmax mass on the single hardest negative
    p_positive: np.ndarray  # mean softmax probability of the positive
    mi_bound: np.ndarray  # log C - loss, a lower bound on I(q; d) (nats)
    entropy: np.ndarray  # mean over queries of the softmax's entropy -Σ_c p_ic log p_ic (nats; log C = uniform)
    n_candidates: int = 0


def infonce_profile(q: np.ndarray, pos: np.ndarray, neg: np.ndarray | None = None,
                    temperatures: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)) -> InfoNCEProfile:
    """Evaluate InfoNCE with in-batch (+ shared hard) negatives at each temperature τ.

    For query i the candidates are all B positives and the hard negatives; with cosines s_ic,
    p_ic = softmax_c(s_ic / τ) and L_i = −log p_ii. The gradient with respect to the (unit) query
    vector is  dL_i/dq_i = (1/τ) Σ_c (p_ic − 1[c=i]) d_c  (before the normalisation's Jacobian),
    so negatives pull with weight p_ic/τ: a small τ puts the weight on the hardest negatives (Wang
    & Liu 2021, "Understanding the Behaviour of Contrastive Loss"). log C − L is the InfoNCE lower
    bound on the mutual information between query and document (van den Oord, Li & Vinyals 2018).

    Shapes: q, pos (B, d); neg (m, d) or None. Rows are L2-normalised.
    """
    qn, pn = l2_normalize(q, np.float64), l2_normalize(pos, np.float64)
    cands = pn if neg is None else np.concatenate([pn, l2_normalize(neg, np.float64)])
    s = qn @ cands.T  # (B, C)
    b, c = s.shape
    eye = np.zeros_like(s, dtype=bool)
    eye[np.arange(b), np.arange(b)] = True
    rows = {k: [] for k in ("loss", "grad", "hard", "ppos", "entropy")}
    for tau in temperatures:
        if not tau > 0:
            raise ValueError(f"infonce_profile(temperatures=...): every temperature must be > 0, got {tau}")
        z = s / tau
        z = z - z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        rows["loss"].append(float(-np.log(np.maximum(p[eye], 1e-300)).mean()))
        g = ((p - eye) @ cands) / tau  # (B, d): dL_i / dq_i
        rows["grad"].append(float(np.linalg.norm(g, axis=1).mean()))
        negs = np.where(eye, 0.0, p)
        rows["hard"].append(float((negs.max(1) / np.maximum(negs.sum(1), 1e-300)).mean()))
        rows["ppos"].append(float(p[eye].mean()))
        rows["entropy"].append(float(-(p * np.log(np.maximum(p, 1e-300))).sum(1).mean()))
    loss = np.array(rows["loss"])
    return InfoNCEProfile(np.asarray(temperatures, float), loss, np.array(rows["grad"]), np.array(rows["hard"]),
                          np.array(rows["ppos"]), np.log(c) - loss, np.array(rows["entropy"]), c)


# --------------------------------------------------------------------------- capacity
def random_sign_pattern(n_queries: int, n_docs: int, p_relevant: float = 0.5, seed: int = 0) -> np.ndarray:
    """A random relevance pattern: +1 (relevant) with probability ``p_relevant``, else −1. Shape (nq, nd)."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n_queries, n_docs)) < p_relevant, 1.0, -1.0)


@dataclass
class SignFit:
    """Result of :func:`fit_sign_pattern`."""

    accuracy: float  # share of (query, doc) cells whose score has the target's sign
    queries_perfect: float  # share of queries whose every relevant doc outscores every irrelevant one
    losses: list[float] = field(default_factory=list)
    n_parameters: int = 0


def fit_sign_pattern(target: np.ndarray, dim: int, scorer: str = "ip", steps: int = 600, lr: float = 0.05,
                     hidden: int = 64, seed: int = 0) -> SignFit:
    """Fit free query vectors u_i and document vectors v_j in R^dim so that score(i, j) has the sign of ``target``.

    ``scorer="ip"`` (a dual encoder, inner product): score = u_i · v_j, a rank-``dim`` score matrix.
    ``scorer="mlp"`` (a cross-encoder on the same vectors): score = MLP([u_i; v_j; u_i ⊙ v_j]),
    any function of the pair. Loss: logistic, mean log(1 + exp(−target · score)), full-batch Adam.
    A dot product realises every pattern once dim ≥ min(nq, nd) (u_i = e_i, v_j = target[:, j]);
    below the pattern's sign rank it cannot, however long it trains.

    Shapes: target (nq, nd) of ±1 -> :class:`SignFit`.

    >>> fit_sign_pattern(np.array([[1.0, -1.0], [-1.0, 1.0]]), dim=2).accuracy
    1.0
    """
    import torch

    t = np.asarray(target, dtype=np.float32)
    if t.ndim != 2 or not np.isin(t, (-1.0, 1.0)).all():
        raise ValueError("fit_sign_pattern(target=...): expected a 2-D matrix of +1 / -1")
    if dim < 1:
        raise ValueError(f"fit_sign_pattern(dim={dim}): dim must be >= 1")
    check_similarity("fit_sign_pattern", scorer, ("ip", "mlp"), param="scorer")
    gen = torch.Generator().manual_seed(seed)
    nq, nd = t.shape
    u = torch.nn.Parameter(torch.randn(nq, dim, generator=gen))
    v = torch.nn.Parameter(torch.randn(nd, dim, generator=gen))
    params = [u, v]
    mlp = None
    if scorer == "mlp":
        torch.manual_seed(seed)
        mlp = torch.nn.Sequential(torch.nn.Linear(3 * dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                  torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        params += list(mlp.parameters())
    target_t = torch.from_numpy(t)

    def scores() -> torch.Tensor:
        if mlp is None:
            return u @ v.T
        uu = u.unsqueeze(1).expand(nq, nd, dim)
        vv = v.unsqueeze(0).expand(nq, nd, dim)
        return mlp(torch.cat([uu, vv, uu * vv], -1)).squeeze(-1)

    opt = torch.optim.Adam(params, lr=lr)
    losses = []
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        for _ in range(steps):
            loss = torch.nn.functional.softplus(-target_t * scores()).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        with torch.no_grad():
            s = scores().numpy()
    finally:
        torch.set_num_threads(before)
    acc = float((np.sign(s) == t).mean())
    perfect = []
    for row_s, row_t in zip(s, t):
        pos, neg = row_s[row_t > 0], row_s[row_t < 0]
        perfect.append(pos.size == 0 or neg.size == 0 or pos.min() > neg.max())
    return SignFit(acc, float(np.mean(perfect)), losses, int(sum(p.numel() for p in params)))


def low_rank_scores(scores: np.ndarray, rank: int | Sequence[int]) -> np.ndarray | dict[int, np.ndarray]:
    """The best rank-``rank`` approximation of a score matrix in squared error (truncated SVD).

    S ≈ U_r Σ_r V_rᵀ = (U_r Σ_r^½)(V_r Σ_r^½)ᵀ: a dual encoder with ``rank``-dimensional query
    vectors U_r Σ_r^½ and document vectors V_r Σ_r^½ (Eckart & Young 1936). Shape (nq, nd) -> (nq, nd);
    a sequence of ranks returns ``{rank: matrix}`` from one SVD.

    >>> s = np.arange(6.0).reshape(2, 3); bool(np.allclose(low_rank_scores(s, 2), s))
    True
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"low_rank_scores: expected a (nq, nd) matrix, got shape {s.shape}")
    ranks = [rank] if np.isscalar(rank) else list(rank)
    if not ranks or min(ranks) < 1:
        raise ValueError(f"low_rank_scores(rank={rank}): every rank must be >= 1")
    u, sig, vt = np.linalg.svd(s, full_matrices=False)
    out = {int(r): (u[:, : min(r, len(sig))] * sig[: min(r, len(sig))]) @ vt[: min(r, len(sig))] for r in ranks}
    return out[int(rank)] if np.isscalar(rank) else out


# --------------------------------------------------------------------------- cost model
@dataclass
class CostModel:
    """Compute (seconds) of a dual encoder and a cross-encoder for one workload; see :func:`dual_cross_cost`."""

    dual_offline_s: float  # encode the corpus once
    dual_per_query_s: float  # encode the query + search
    cross_per_query_s: float  # k pair passes (+ the first stage that supplies the k candidates)
    dual_total_s: float
    cross_total_s: float
    break_even_queries: float  # queries after which the dual encoder's total is the smaller one

    @property
    def speedup_per_query(self) -> float:
        return self.cross_per_query_s / self.dual_per_query_s


def dual_cross_cost(n_docs: int, n_queries: int, k: int, t_doc: float, t_query: float, t_pair: float,
                    t_search: float = 0.0, t_first_stage: float = 0.0) -> CostModel:
    """Total and per-query compute of serving ``n_queries`` over ``n_docs`` documents.

    dual:  n_docs · t_doc (offline, once) + n_queries · (t_query + t_search)
    cross: n_queries · (t_first_stage + k · t_pair)   (k candidates re-scored per query)

    A cross-encoder that scores the whole corpus has k = n_docs. The break-even number of queries
    is n_docs · t_doc / (cross per query − dual per query) (infinite if the dual is not cheaper per
    query). Times in seconds; t_doc, t_pair measured per text / per pair.

    >>> dual_cross_cost(1000, 10, 100, t_doc=0.01, t_query=0.01, t_pair=0.01).cross_total_s
    10.0
    """
    for name, v in (("n_docs", n_docs), ("n_queries", n_queries), ("k", k)):
        if v < 0:
            raise ValueError(f"dual_cross_cost({name}={v}): must be >= 0")
    offline = n_docs * t_doc
    dual_q = t_query + t_search
    cross_q = t_first_stage + k * t_pair
    gap = cross_q - dual_q
    return CostModel(offline, dual_q, cross_q, offline + n_queries * dual_q, n_queries * cross_q,
                     offline / gap if gap > 0 else float("inf"))


# --------------------------------------------------------------------------- continual learning
@dataclass
class Forgetting:
    """Summary of a continual-learning accuracy matrix (see :func:`forgetting`)."""

    average_accuracy: float  # mean over tasks of the accuracy after the last task
    average_forgetting: float  # mean over all but the last task of (best earlier accuracy - final accuracy)
    backward_transfer: float  # mean over all but the last task of (final accuracy - accuracy just after learning it)
    per_task_forgetting: list[float] = field(default_factory=list)


def forgetting(acc: np.ndarray) -> Forgetting:
    """Continual-learning metrics from ``acc[i, j]`` = quality on task j after training on tasks 0..i.

    With T tasks (acc is T × T):

    * average accuracy  A = (1/T) Σ_j acc[T−1, j]
    * forgetting of task j < T−1:  f_j = max_{i < T−1} acc[i, j] − acc[T−1, j]  (Chaudhry et al.
      2018, "Riemannian Walk for Incremental Learning"); average forgetting = mean_j f_j
    * backward transfer  BWT = (1/(T−1)) Σ_{j<T−1} (acc[T−1, j] − acc[j, j])  (Lopez-Paz & Ranzato
      2017, "Gradient Episodic Memory for Continual Learning"); negative = forgetting.

    Shape: (T, T) -> :class:`Forgetting`.

    >>> f = forgetting(np.array([[0.8, 0.1], [0.6, 0.9]]))
    >>> round(f.average_forgetting, 3), round(f.backward_transfer, 3)
    (0.2, -0.2)
    """
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"forgetting: expected a square (T, T) accuracy matrix, got shape {a.shape}")
    n = a.shape[0]
    final = a[-1]
    if n == 1:
        return Forgetting(float(final.mean()), 0.0, 0.0, [])
    per = [float(a[:-1, j].max() - final[j]) for j in range(n - 1)]
    bwt = float(np.mean([final[j] - a[j, j] for j in range(n - 1)]))
    return Forgetting(float(final.mean()), float(np.mean(per)), bwt, per)
