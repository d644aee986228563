"""Adaptive (selective) re-ranking: spend the cross-encoder only on the queries where it pays.

Re-ranking the top ``k`` of a query costs ``k`` cross-encoder calls. For many queries it changes
nothing that nDCG@10 sees, for some it helps, for some it hurts. A *policy* looks at the first
stage's result list before any cross-encoder call and decides per query whether to re-rank
(selective re-ranking / query performance prediction: Culpepper, Clarke & Lin 2016, "Dynamic
cutoff prediction in multi-stage retrieval systems"; Cronen-Townsend, Zhou & Croft 2002 for
predicting query difficulty from the result list).

Confidence features of one query's first-stage scores ``s_(1) >= s_(2) >= ...`` (higher = the
first stage is surer, so re-ranking is less likely to be worth it):

    margin(q)       = s_(1) - s_(2)
    norm_margin(q)  = (s_(1) - s_(2)) / std(s_(1..k))                (scale-free)
    peakedness(q)   = log k - H(p),  p = softmax(z-scores of s_(1..k))  (KL(p || uniform))
    agreement(q)    = |top_n(A) ∩ top_n(B)| / n                      (e.g. BM25 vs dense)

The policy re-ranks ``q`` iff ``confidence(q) < threshold`` (strictly). A query with fewer than
two documents has nothing to re-order: its margin is ``+inf`` and it is never re-ranked.
``margin``, ``decide`` and ``combine`` are :mod:`lessonlib.retrieval.cascade`'s ``score_margin``, ``route`` and
``adaptive_run`` (the routing rule of exercise 17); a learned policy, :class:`GainRegressor`,
predicts the gain from all features at once (cf. the "choose per query" study question, Day 10.2 §6).

Evaluation without re-running anything: with per-query nDCG@10 of the first stage (``never``)
and of the re-ranked run (``always``), ``gain = always - never`` and any policy scores
``mean(never) + mean(gain * decision)``. The *oracle* re-ranks the queries with the largest
positive gain first: an upper bound no policy beats at the same share of re-ranked queries. The
threshold is chosen on a validation split (``choose_threshold``) and only reported on test.

>>> first = {"q1": {"a": 9.0, "b": 1.0}, "q2": {"a": 5.0, "b": 4.9}}
>>> route(score_margin(first), threshold=1.0)
{'q1': False, 'q2': True}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

# The margin, the threshold rule and the served run are lessonlib.retrieval.cascade's (multi-stage retrieval:
# score_margin, route, adaptive_run); this module adds the other confidence features, the trade-off curves,
# the oracle and the choice of a threshold on validation.
from lessonlib.retrieval.cascade import route, score_margin
from lessonlib.evaluation.metrics import per_query_array
from lessonlib.core.runs import Run, rank_documents

CONFIDENCE_FEATURES = ("margin", "norm_margin", "peakedness", "agreement")


def _top_scores(docs: Mapping[str, float], k: int | None) -> np.ndarray:
    values = np.sort(np.fromiter(docs.values(), dtype=np.float64, count=len(docs)))[::-1]
    return values if k is None else values[:k]


def _check_k(k: int, where: str) -> None:
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"{where}(k={k}): k must be an integer >= 2")


def _per_query(run: Run, k: int, where: str, statistic: Callable[[np.ndarray], float]) -> dict[str, float]:
    """``{qid: statistic(top-k scores, descending)}``; ``+inf`` for a query with < 2 documents."""
    _check_k(k, where)
    out = {}
    for qid, docs in run.items():
        top = _top_scores(docs, k)
        out[qid] = float("inf") if len(top) < 2 else statistic(top)
    return out


# --------------------------------------------------------------------------- features
def normalised_margin(run: Run, k: int = 10) -> dict[str, float]:
    """(s_(1) - s_(2)) / std(s_(1..k)): the margin in units of the top-k spread (scale-free).

    ``+inf`` for a query with < 2 documents; 0 when its top k all score the same.

    >>> round(normalised_margin({"q": {"a": 3.0, "b": 1.0}}, k=10)["q"], 3)
    2.0
    """
    def statistic(top: np.ndarray) -> float:
        sd = top.std()
        return float((top[0] - top[1]) / sd) if sd > 0 else 0.0

    return _per_query(run, k, "normalised_margin", statistic)


def peakedness(run: Run, k: int = 10) -> dict[str, float]:
    """log(k') - H(p) with p = softmax of the z-scored top-k' scores (k' = min(k, |docs|)).

    The Kullback-Leibler divergence of the top-k score distribution from uniform: 0 when the k
    best documents score alike (an unsure first stage), large when one stands out. Z-scoring
    makes it independent of the score scale (BM25, cosine and RRF scores alike).

    >>> peakedness({"q": {"a": 1.0, "b": 1.0}})["q"]
    0.0
    """
    def statistic(top: np.ndarray) -> float:
        sd = top.std()
        z = (top - top.mean()) / sd if sd > 0 else np.zeros_like(top)
        p = np.exp(z - z.max())
        p /= p.sum()
        entropy = -float(np.sum(p * np.log(np.clip(p, 1e-300, None))))
        return max(0.0, float(np.log(len(top)) - entropy))

    return _per_query(run, k, "peakedness", statistic)


def agreement(run_a: Run, run_b: Run, n: int = 10) -> dict[str, float]:
    """|top_n(A) ∩ top_n(B)| / n per query of ``run_a``: do two first stages agree?

    When BM25 and a dense retriever return the same documents, the evidence is consistent; when
    they disagree, one of them is wrong about the query and a cross-encoder has more to fix.
    Ranks are trec_eval's (score descending, ties by doc id descending).

    >>> agreement({"q": {"a": 2, "b": 1}}, {"q": {"b": 5, "c": 4}}, n=2)
    {'q': 0.5}
    """
    if n < 1:
        raise ValueError(f"agreement(n={n}): n must be >= 1")
    out = {}
    for qid, docs in run_a.items():
        a = set(rank_documents(docs)[:n])
        b = set(rank_documents(run_b.get(qid, {}))[:n])
        out[qid] = len(a & b) / n
    return out


def confidence_features(first: Run, k: int = 10, agreement_of: tuple[Run, Run] | None = None) -> dict[str, dict[str, float]]:
    """Every confidence feature of ``first``: {name: {qid: value}} (names: :data:`CONFIDENCE_FEATURES`).

    ``agreement`` (top-k overlap) is added when ``agreement_of`` names two runs, e.g. the BM25 and
    dense runs that a hybrid ``first`` fuses; it is given for the queries of ``first``.
    """
    feats = {"margin": score_margin(first), "norm_margin": normalised_margin(first, k), "peakedness": peakedness(first, k)}
    if agreement_of is not None:
        a = agreement(agreement_of[0], agreement_of[1], n=k)
        feats["agreement"] = {q: a.get(q, 0.0) for q in first}
    return feats


# --------------------------------------------------------------------------- the policy
def rerank_cost(run: Run, decisions: Mapping[str, bool], k: int) -> int:
    """Cross-encoder calls of a policy: sum over re-ranked queries of min(k, |docs of q|)."""
    if k < 1:
        raise ValueError(f"rerank_cost(k={k}): k must be >= 1")
    return int(sum(min(k, len(run.get(q, {}))) for q, d in decisions.items() if d))


def adaptive_rerank(run: Run, threshold: float, k: int) -> dict:
    """The margin policy of exercise 17: ``{"rerank": {qid: bool}, "cost": int}``.

    Re-rank ``q`` iff it has >= 2 documents and ``margin(q) < threshold``; cost as :func:`rerank_cost`.

    >>> adaptive_rerank({"q": {"a": 2.0, "b": 1.9, "c": 0.0}}, threshold=0.5, k=10)
    {'rerank': {'q': True}, 'cost': 3}
    """
    decisions = route(score_margin(run), threshold)
    return {"rerank": decisions, "cost": rerank_cost(run, decisions, k)}


# --------------------------------------------------------------------------- evaluation
def per_query_gain(qrels: Mapping[str, Mapping[str, int]], first: Run, reranked: Run, qids: Sequence[str],
                   measure: str = "ndcg@10") -> tuple[np.ndarray, np.ndarray]:
    """(never, gain): per-query ``measure`` of ``first`` and ``measure(reranked) - measure(first)``.

    Arrays of shape (len(qids),), in the order of ``qids``; a query missing from a run scores 0.
    """
    qids = list(qids)
    never = per_query_array(qrels, dict(first), measure, qids)
    always = per_query_array(qrels, dict(reranked), measure, qids)
    return never, always - never


def tradeoff_curve(confidence: Sequence[float], gain: Sequence[float]) -> dict[str, np.ndarray]:
    """Every threshold of a confidence policy: share of queries re-ranked and mean gain.

    ``confidence`` and ``gain`` are (n,) arrays over the same queries. Thresholds run from
    ``-inf`` (re-rank none) through the midpoints between consecutive distinct finite
    confidences to ``+inf`` (re-rank all but the ``+inf`` ones: queries with < 2 documents). Returns ``{"threshold", "share", "gain"}``,
    each (m,), in order of increasing share.
    """
    c = np.asarray(confidence, dtype=np.float64)
    g = np.asarray(gain, dtype=np.float64)
    if c.shape != g.shape or c.ndim != 1 or c.size == 0:
        raise ValueError(f"tradeoff_curve: confidence and gain must be non-empty 1-D of one length, got {c.shape}, {g.shape}")
    finite = np.unique(c[np.isfinite(c)])
    mids = (finite[:-1] + finite[1:]) / 2 if finite.size > 1 else np.zeros(0)
    thresholds = np.concatenate([[-np.inf], mids, [np.inf]])
    chosen = c[None, :] < thresholds[:, None]
    return {"threshold": thresholds, "share": chosen.mean(1), "gain": (chosen * g[None, :]).mean(1)}


def oracle_curve(gain: Sequence[float]) -> dict[str, np.ndarray]:
    """The oracle policy: re-rank the queries in order of decreasing (known) gain.

    Returns ``{"share", "gain"}`` of shape (n + 1,): for each number of re-ranked queries 0..n,
    the best mean gain any policy could reach with that many. It rises while gains are positive
    and falls once only harmful queries are left.
    """
    g = np.sort(np.asarray(gain, dtype=np.float64))[::-1]
    n = g.size
    if n == 0:
        raise ValueError("oracle_curve(gain=[]): need at least one query")
    return {"share": np.arange(n + 1) / n, "gain": np.concatenate([[0.0], np.cumsum(g)]) / n}


def choose_threshold(confidence: Sequence[float], gain: Sequence[float], cost_weight: float = 0.0) -> tuple[float, dict]:
    """The threshold that maximises ``mean gain - cost_weight * share`` on a VALIDATION split.

    ``cost_weight`` is the price of re-ranking every query, in units of the measure (e.g. 0.01 =
    "re-ranking all queries is worth it only for +0.01 nDCG@10"); 0 maximises quality alone.
    Ties go to the smaller share (cheaper). Returns (threshold, {"share", "gain", "objective"}).
    """
    if cost_weight < 0:
        raise ValueError(f"choose_threshold(cost_weight={cost_weight}): must be >= 0")
    curve = tradeoff_curve(confidence, gain)
    objective = curve["gain"] - cost_weight * curve["share"]
    best = int(np.flatnonzero(np.isclose(objective, objective.max(), rtol=0, atol=1e-12))[0])  # smallest share
    return float(curve["threshold"][best]), {"share": float(curve["share"][best]), "gain": float(curve["gain"][best]),
                                             "objective": float(objective[best])}


class GainRegressor:
    """A learned policy: ridge regression of the per-query gain on standardised confidence features.

    ``fit(X, gain)`` on a validation split, ``predict(X)`` -> predicted gain; use
    ``-predict(X)`` as the confidence of :func:`decide` / :func:`choose_threshold`. Closed form
    ``w = (X'X + alpha I)^-1 X'y`` on z-scored columns (intercept not penalised); ``+inf``
    features (queries with < 2 documents) are clipped to the largest finite training value.

    Shapes: X (n, f), gain (n,) -> (n,).

    >>> reg = GainRegressor(alpha=1.0).fit(np.array([[0.0], [1.0], [2.0]]), np.array([0.2, 0.1, 0.0]))
    >>> bool(reg.predict(np.array([[0.0]]))[0] > reg.predict(np.array([[2.0]]))[0])
    True
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        X = np.where(np.isposinf(X), self.max_[None, :], X)
        X = np.where(np.isneginf(X), self.min_[None, :], X)
        return (X - self.mean_) / self.scale_

    def fit(self, X: np.ndarray, gain: np.ndarray) -> GainRegressor:
        if self.alpha < 0:
            raise ValueError(f"GainRegressor(alpha={self.alpha}): alpha must be >= 0")
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(gain, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[0] < 2:
            raise ValueError(f"GainRegressor.fit: X must be (n >= 2, f) and gain (n,), got {X.shape}, {y.shape}")
        finite = np.where(np.isfinite(X), X, np.nan)
        self.max_ = np.nan_to_num(np.nanmax(finite, 0), nan=0.0)
        self.min_ = np.nan_to_num(np.nanmin(finite, 0), nan=0.0)
        X = np.where(np.isposinf(X), self.max_[None, :], np.where(np.isneginf(X), self.min_[None, :], X))
        self.mean_ = X.mean(0)
        sd = X.std(0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (X - self.mean_) / self.scale_
        self.intercept_ = float(y.mean())
        self.coef_ = np.linalg.solve(Z.T @ Z + self.alpha * np.eye(Z.shape[1]), Z.T @ (y - self.intercept_))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ValueError("GainRegressor.predict: call fit(X, gain) first")
        return self._prepare(X) @ self.coef_ + self.intercept_


def feature_matrix(features: Mapping[str, Mapping[str, float]], qids: Sequence[str],
                   names: Sequence[str] | None = None) -> np.ndarray:
    """(len(qids), len(names)) float matrix of ``features[name][qid]`` (names: all, in order)."""
    names = list(features) if names is None else list(names)
    missing = [n for n in names if n not in features]
    if missing:
        raise ValueError(f"feature_matrix(names={names}): unknown features {missing}; have {list(features)}")
    return np.array([[features[n][q] for n in names] for q in qids], dtype=np.float64)
