"""Multi-stage retrieval (a cascade of rankers) and adaptive per-query routing between stages.

**Cascade** (Wang, Lin & Metzler, 2011, "A cascade ranking model for efficient ranked retrieval";
Nogueira et al., 2019, "Multi-stage document ranking with BERT"): a cheap first stage ranks the
whole collection; each later stage re-scores only the best ``depth`` candidates of the stage
before it, with a dearer and (hopefully) better scorer:

    C_0 = top-k0 of stage 0 over the corpus;   C_j = top-depth_j of C_{j-1} by stage j-1;
    final order: documents of C_J by stage J, then those of C_{J-1} \\ C_J by stage J-1, ...

so a document that reached a deeper stage always ranks above one that was cut earlier (the
final run's scores are ranks turned into scores, ``n - rank``, which keeps that order exactly).
With ``drop_below``, a candidate whose score is below it stops at its stage (early termination:
confidently irrelevant, Matsubara et al. 2020). :func:`cascade` measures what each stage costs:
documents scored and wall-clock seconds; :func:`lessonlib.evaluation.cost.cascade_run` runs it over
precomputed stage scores and meters a cost per candidate (notebook 19).

**Adaptive routing** (selective re-ranking; cf. Culpepper, Clarke & Lin, 2016, "Dynamic cutoff
prediction in multi-stage retrieval systems"): send a query to the expensive stage only when
the cheap one is unsure. Confidence is the score margin of the cheap ranking,
``margin(q) = s_(1) - s_(2)``; a query goes to the expensive stage iff it has >= 2 documents and
``margin(q) < threshold`` (the rule of exercise 17, ``lessonlib.workbook.checks.ex17_adaptive_rerank.adaptive_rerank_policy``).
:func:`threshold_for_share` picks the threshold that routes a given share of queries (fit it on
validation margins); :func:`routing_curve` measures quality against the share routed, with the
oracle (best of the two per query) and random routing as references.

>>> first = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
>>> res = cascade(first, [Stage("rev", lambda q, docs: [ord(d) for d in docs], depth=2)])
>>> list(res.run["q"])             # 'b' beats 'a' in stage "rev"; 'c' was cut after stage 0
['b', 'a', 'c']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lessonlib.retrieval.fusion import normalize
from lessonlib.evaluation.metrics import evaluate
from lessonlib.core.runs import Run, rank_documents


@dataclass
class Stage:
    """One re-ranking stage: ``score(query_id, doc_ids) -> scores`` (higher is better) applied to
    the best ``depth`` candidates of the stage before."""

    name: str
    score: Callable[[str, list[str]], Sequence[float]]
    depth: int

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"Stage(name={self.name!r}, depth={self.depth}): depth must be >= 1")


@dataclass
class CascadeResult:
    """What :func:`cascade` returns.

    Attributes:
        run: the final ranking of every first-stage candidate (deeper stages first).
        stage_runs: stage name -> the run of that stage's own scores on what it saw (the first
            stage's entry is the candidate run itself).
        docs_scored: stage name -> documents scored, summed over queries.
        seconds: stage name -> wall-clock seconds of its ``score`` calls, summed over queries.
        n_queries: queries in the run.
    """

    run: Run
    stage_runs: dict[str, Run] = field(default_factory=dict)
    docs_scored: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    n_queries: int = 0

    def costs(self) -> dict[str, dict[str, float]]:
        """Per stage: ``{"docs/query", "ms/query"}``."""
        n = max(self.n_queries, 1)
        return {name: {"docs/query": self.docs_scored[name] / n, "ms/query": 1000 * self.seconds[name] / n}
                for name in self.docs_scored}

    def prefix_run(self, stage: str) -> Run:
        """The final ranking had the cascade stopped after ``stage`` (its order on top, earlier
        stages' order below): the quality of each prefix of the cascade."""
        names = list(self.stage_runs)
        if stage not in names:
            raise KeyError(f"prefix_run(stage={stage!r}): stages are {names}")
        return _merge_levels([self.stage_runs[s] for s in names[: names.index(stage) + 1]])


def _merge_levels(levels: Sequence[Run]) -> Run:
    """Runs of successive stages (each on a subset of the previous one's documents) -> one run:
    documents of the last level first (by its scores), then the rest of each earlier level."""
    out: Run = {}
    for qid in levels[0]:
        order: list[str] = []
        seen: set[str] = set()
        for level in reversed(levels):
            for d in rank_documents(level.get(qid, {})):
                if d not in seen:
                    order.append(d)
                    seen.add(d)
        n = len(order)
        out[qid] = {d: float(n - r) for r, d in enumerate(order)}
    return out


def cascade(
    first: Run,
    stages: Sequence[Stage],
    first_name: str = "first stage",
    first_seconds: float = 0.0,
    drop_below: float | None = None,
) -> CascadeResult:
    """Run the ``stages`` over the candidates of ``first`` (a run), query by query.

    Args:
        first: stage 0's run (e.g. BM25's top 100): its order picks the candidates of stage 1.
        stages: the re-ranking stages, cheap to dear; stage j re-scores the top ``depth`` of
            stage j-1's order (``depth`` larger than what is left means "all of it").
        first_name / first_seconds: how stage 0 is named and what it cost (measured outside).
        drop_below: a candidate scoring below it (at any stage) goes no further (None: none stops early).

    Returns a :class:`CascadeResult` (final run, each stage's run, documents scored, seconds).
    Shapes: every run is ``{query_id: {doc_id: score}}``; the final run holds every candidate of
    ``first`` with scores ``n - rank``.
    """
    names = [first_name] + [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"cascade: stage names must be distinct, got {names}")
    stage_runs: dict[str, Run] = {first_name: {q: dict(d) for q, d in first.items()}}
    docs_scored = {first_name: sum(len(d) for d in first.values())}
    seconds = {first_name: float(first_seconds)}
    for s in stages:
        stage_runs[s.name], docs_scored[s.name], seconds[s.name] = {}, 0, 0.0
    for qid, docs in first.items():
        current = dict(docs)
        for s in stages:
            alive = current if drop_below is None else {d: v for d, v in current.items() if v >= drop_below}
            cand = rank_documents(alive)[: s.depth]
            if not cand:
                stage_runs[s.name][qid] = current = {}
                continue
            start = time.perf_counter()
            scores = np.asarray(s.score(qid, cand), dtype=np.float64)
            seconds[s.name] += time.perf_counter() - start
            if scores.shape != (len(cand),):
                raise ValueError(f"cascade: stage {s.name!r} returned {scores.shape} scores for {len(cand)} documents")
            docs_scored[s.name] += len(cand)
            current = dict(zip(cand, scores.tolist()))
            stage_runs[s.name][qid] = current
    result = CascadeResult(_merge_levels(list(stage_runs.values())), stage_runs, docs_scored, seconds, len(first))
    return result


# --------------------------------------------------------------------------------------------
# Scorers: the ``score(query_id, doc_ids) -> scores`` callables that stages take
# --------------------------------------------------------------------------------------------
StageScorer = Callable[[str, list[str]], Sequence[float]]


def run_scorer(run: Run, missing: float | None = None) -> StageScorer:
    """Look scores up in a run (e.g. BM25's); a document the run lacks gets ``missing``
    (default: that query's lowest score in the run, or 0 when the query has none)."""
    def score(qid: str, docs: list[str]) -> list[float]:
        own = run.get(qid, {})
        floor = missing if missing is not None else (min(own.values()) if own else 0.0)
        return [float(own.get(d, floor)) for d in docs]

    return score


def dense_scorer(query_vectors: Mapping[str, np.ndarray], doc_vectors: np.ndarray,
                 doc_position: Mapping[str, int]) -> StageScorer:
    """Inner product of a query's vector (dim,) with its candidates' rows of ``doc_vectors``
    (n_docs, dim) (cosine when both are unit length, as all-MiniLM-L6-v2's are)."""
    def score(qid: str, docs: list[str]) -> np.ndarray:
        rows = doc_vectors[[doc_position[d] for d in docs]]
        return rows @ np.asarray(query_vectors[qid], dtype=rows.dtype)

    return score


def fused_scorer(scorers: Sequence[StageScorer], weights: Sequence[float] | None = None, norm: str = "zscore") -> StageScorer:
    """``sum_r w_r * norm(s_r)`` over the candidate list, normalised per query and per list
    (``"zscore"``, ``"minmax"`` or ``"none"``; see :func:`lessonlib.retrieval.fusion.normalize`).

    Score interpolation inside a stage: e.g. BM25 + dense (a sparse-dense hybrid), or a
    re-ranker + the stage before it, so the re-ranker does not throw away what that stage knew.
    """
    w = [1.0] * len(scorers) if weights is None else [float(x) for x in weights]
    if len(w) != len(scorers) or not scorers:
        raise ValueError(f"fused_scorer(weights={weights}): need one weight per scorer ({len(scorers)} scorers)")

    def score(qid: str, docs: list[str]) -> np.ndarray:
        total = np.zeros(len(docs))
        for wt, fn in zip(w, scorers):
            normed = normalize(dict(zip(docs, np.asarray(fn(qid, docs), dtype=np.float64).tolist())), norm)
            total += wt * np.array([normed[d] for d in docs])
        return total

    return score


# --------------------------------------------------------------------------------------------
# Adaptive routing
# --------------------------------------------------------------------------------------------
def score_margin(run: Run) -> dict[str, float]:
    """Per query, best score minus second best: ``s_(1) - s_(2)``; ``inf`` with fewer than 2 documents.

    A large margin means the ranker is sure of its top document (a confidence signal; a
    simple query-performance predictor).
    """
    out = {}
    for qid, docs in run.items():
        top = sorted(docs.values(), reverse=True)[:2]
        out[qid] = float(top[0] - top[1]) if len(top) == 2 else math.inf
    return out


def route(margins: Mapping[str, float], threshold: float) -> dict[str, bool]:
    """``True`` (send to the expensive stage) iff ``margin < threshold`` (strictly)."""
    return {q: bool(m < threshold) for q, m in margins.items()}


def threshold_for_share(margins: Mapping[str, float] | Sequence[float], share: float) -> float:
    """The threshold that routes ``share`` of these queries (the least confident ones).

    With n margins sorted ascending m_1 <= ... <= m_n and r = round(share * n): the midpoint of
    m_r and m_{r+1} (so exactly r are routed when they differ); ``-inf`` for r = 0 and ``inf``
    for r = n. A query with fewer than 2 documents (margin ``inf``) is never routed.
    Fit it on VALIDATION margins and apply it to test queries.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"threshold_for_share(share={share}): expected 0 <= share <= 1")
    values = np.sort(np.fromiter(margins.values() if isinstance(margins, Mapping) else margins, dtype=np.float64))
    if len(values) == 0:
        raise ValueError("threshold_for_share(margins=[]): need at least one margin")
    r = int(round(share * len(values)))
    if r == 0:
        return -math.inf
    if r == len(values):
        return math.inf
    lo, hi = values[r - 1], values[r]
    if not math.isfinite(hi):
        return math.inf if not math.isfinite(lo) else lo + 1.0
    return float((lo + hi) / 2)


def adaptive_run(cheap: Run, expensive: Run, routed: Mapping[str, bool]) -> Run:
    """Per query: the expensive run's ranking where ``routed[q]``, else the cheap run's."""
    out: Run = {}
    for qid, docs in cheap.items():
        src = expensive.get(qid, docs) if routed.get(qid, False) else docs
        out[qid] = dict(src)
    return out


@dataclass
class RoutingCurve:
    """Quality against the share of queries sent to the expensive stage.

    ``share[i]`` / ``value[i]``: route the ``i`` least-confident queries (smallest margins first;
    ties by query id). ``random``: the expected value of routing the same share at random
    (a straight line). ``oracle_share`` / ``oracle_value``: route exactly the queries where the
    expensive stage is better (needs the answers: an upper bound, not a policy).
    """

    share: np.ndarray
    value: np.ndarray
    random: np.ndarray
    oracle_share: float
    oracle_value: float
    order: list[str]

    def value_at(self, share: float) -> float:
        """The curve's value at the point closest to ``share``."""
        return float(self.value[int(np.argmin(np.abs(self.share - share)))])


def routing_curve(
    cheap: Run,
    expensive: Run,
    margins: Mapping[str, float],
    qrels: Mapping[str, Mapping[str, int]],
    measure: str = "ndcg@10",
) -> RoutingCurve:
    """Route queries in order of increasing margin and measure ``measure`` after each one.

    Exact and cheap: with per-query values c_q (cheap) and e_q (expensive), routing the first i
    queries of the order gives mean(c) + sum_{first i} (e_q - c_q) / n. Queries are those of
    ``qrels`` that ``cheap`` answers (a query missing from ``expensive`` keeps its cheap value).
    """
    qids = [q for q in cheap if q in qrels]
    if not qids:
        raise ValueError("routing_curve: no query of the cheap run is in qrels")
    c_pq = evaluate(qrels, {q: cheap[q] for q in qids}, [measure], per_query=True)
    e_pq = evaluate(qrels, {q: expensive.get(q, cheap[q]) for q in qids}, [measure], per_query=True)
    c = np.array([c_pq[q][measure] for q in qids])
    e = np.array([e_pq[q][measure] for q in qids])
    order = sorted(range(len(qids)), key=lambda i: (margins.get(qids[i], math.inf), qids[i]))
    gain = np.concatenate([[0.0], np.cumsum((e - c)[order])])
    n = len(qids)
    share = np.arange(n + 1) / n
    value = c.mean() + gain / n
    random = (1 - share) * c.mean() + share * e.mean()
    return RoutingCurve(share, value, random, float((e > c).mean()), float(np.maximum(c, e).mean()),
                        [qids[i] for i in order])
