"""Ranking metrics with trec_eval's definitions, computed with numpy.

A run is ranked the way trec_eval ranks it: by score descending, ties broken by document id
in *descending* (strcmp) order (trec_eval ``form_res_rels.c``, ``comp_sim_docno``). A document
is relevant when its grade is >= 1 (trec_eval's default ``relevance_level``); nDCG uses the raw
grade as gain and ``1 / log2(rank + 1)`` as discount (Järvelin & Kekäläinen, 2002).

Which queries are averaged: as pytrec_eval does, every query that is in both the run and the
qrels (a query of the run with no documents counts, with 0; a query of the qrels with no relevant
document counts, with 0). Queries of the run that have no judgements are ignored. Queries of the
qrels that the run misses are ignored by default (``missing="skip"``, pytrec_eval) or count as 0
with ``missing="zero"`` (``trec_eval -c``).

| name | trec_eval | definition (R = relevant set, rel_i = 1 if rank i is relevant) |
| --- | --- | --- |
| ``ndcg@k`` | ndcg_cut_k | DCG@k / ideal DCG@k, DCG@k = sum_{i<=k} grade_i / log2(i + 1) |
| ``ndcg`` | ndcg | nDCG over the whole ranking |
| ``map`` / ``map@k`` | map / map_cut_k | (1/|R|) sum_{i(<=k)} rel_i * P@i |
| ``mrr`` / ``mrr@k`` | recip_rank / – | 1 / rank of the first relevant document (0 if none (in the top k)) |
| ``p@k`` | P_k | (1/k) sum_{i<=k} rel_i (k, not the number retrieved, is the denominator) |
| ``recall@k`` | recall_k | (1/|R|) sum_{i<=k} rel_i |
| ``f1@k`` | – | 2 P@k R@k / (P@k + R@k) |
| ``success@k`` / ``hit_rate@k`` | success_k | 1 if some relevant document is in the top k |
| ``r_precision`` | Rprec | P@|R| |

>>> qrels = {"q1": {"d1": 1, "d2": 2}}
>>> run = {"q1": {"d1": 0.9, "d3": 0.5, "d2": 0.1}}
>>> evaluate(qrels, run, ["ndcg@10", "mrr"])["mrr"]
1.0
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lessonlib.core.runs import Qrels, Run

#: Measure families; those marked True take a cutoff ``@k``.
_FAMILIES = {
    "ndcg": None,  # both: "ndcg" (whole ranking) and "ndcg@k"
    "map": None,
    "mrr": None,
    "p": True,
    "recall": True,
    "f1": True,
    "success": True,
    "hit_rate": True,
    "r_precision": False,
}
_NAME = re.compile(r"^([a-z_0-9]+?)(?:@(-?\d+))?$")

#: trec_eval's name for each of our measures (None where trec_eval has none).
TREC_EVAL_NAMES = {
    "ndcg@k": "ndcg_cut_k",
    "ndcg": "ndcg",
    "map": "map",
    "map@k": "map_cut_k",
    "mrr": "recip_rank",
    "mrr@k": None,
    "p@k": "P_k",
    "recall@k": "recall_k",
    "f1@k": None,
    "success@k": "success_k",
    "hit_rate@k": "success_k",
    "r_precision": "Rprec",
}


@dataclass(frozen=True)
class Measure:
    """A parsed measure name: ``family`` and optional cutoff ``k``."""

    family: str
    k: int | None
    name: str


def parse_measure(name: str) -> Measure:
    """Parse ``"ndcg@10"`` into ``Measure("ndcg", 10, "ndcg@10")``; raise ValueError if unknown."""
    text = str(name).strip().lower()
    match = _NAME.match(text)
    known = ", ".join(sorted(TREC_EVAL_NAMES))
    if not match or match.group(1) not in _FAMILIES:
        raise ValueError(f"evaluate(measures): unknown measure {name!r}; expected one of {known}")
    family, k = match.group(1), match.group(2)
    needs_k = _FAMILIES[family]
    if k is None and needs_k:
        raise ValueError(f"evaluate(measures): measure {name!r} needs a cutoff, e.g. '{family}@10'")
    if k is not None and needs_k is False:
        raise ValueError(f"evaluate(measures): measure {name!r} takes no cutoff; use '{family}'")
    if k is not None and int(k) < 1:
        raise ValueError(f"evaluate(measures): measure {name!r} has k={int(k)}; k must be >= 1")
    return Measure(family, None if k is None else int(k), text)


def _ranked_grades(qrels: Qrels, run: Run, qids: list[str]) -> np.ndarray:
    """(nq, L) grades of each query's ranked documents, 0-padded; L = the longest ranking.

    One vectorised sort for all queries: by query, then score descending, then doc id descending.
    Doc ids are ranked with Python's string order (code points = strcmp on UTF-8, as trec_eval).
    """
    lengths = np.fromiter((len(run[q]) for q in qids), dtype=np.int64, count=len(qids))
    total = int(lengths.sum())
    grades = np.zeros((len(qids), max(int(lengths.max(initial=0)), 1)))
    if total == 0:
        return grades
    chain = itertools.chain.from_iterable
    ids = list(chain(run[q] for q in qids))
    scores = np.fromiter(chain(run[q].values() for q in qids), dtype=np.float64, count=total)
    id_rank = {d: i for i, d in enumerate(sorted(set(ids)))}
    code = np.fromiter(map(id_rank.__getitem__, ids), dtype=np.int64, count=total)
    # Grades through (query, doc) keys: only the judged pairs are looked up one by one.
    n_ids = len(id_rank)
    judged_pairs = [(i, id_rank[d], g) for i, q in enumerate(qids) for d, g in qrels[q].items() if g != 0 and d in id_rank]
    judged = np.zeros(total)
    if judged_pairs:
        jq, jd, jg = (np.array(col) for col in zip(*judged_pairs))
        judged_keys = jq * n_ids + jd
        sort = np.argsort(judged_keys)
        judged_keys, jg = judged_keys[sort], jg[sort]
        run_keys = np.repeat(np.arange(len(qids)), lengths) * n_ids + code
        at = np.minimum(np.searchsorted(judged_keys, run_keys), len(judged_keys) - 1)
        judged = np.where(judged_keys[at] == run_keys, jg[at], 0.0).astype(np.float64)
    qidx = np.repeat(np.arange(len(qids)), lengths)
    order = np.lexsort((-code, -scores, qidx))  # last key is the primary one
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    pos = np.arange(total) - np.repeat(starts, lengths)
    grades[qidx, pos] = judged[order]  # qidx[order] == qidx: the sort keeps queries in place
    return grades


def _ideal_grades(qrels: Qrels, qids: list[str]) -> np.ndarray:
    """(nq, M) positive grades of each query's qrels sorted descending, 0-padded."""
    rows = [sorted((g for g in qrels[q].values() if g > 0), reverse=True) for q in qids]
    width = max((len(r) for r in rows), default=0)
    ideal = np.zeros((len(qids), max(width, 1)))
    for i, row in enumerate(rows):
        ideal[i, : len(row)] = row
    return ideal


def _cut(matrix: np.ndarray, k: int | None) -> np.ndarray:
    """First k columns of ``matrix`` (all of them when it has fewer: every measure sums over the cut,
    so missing ranks count 0 without allocating them; ``p@1000000000`` costs nothing extra)."""
    return matrix if k is None else matrix[:, :k]


def _dcg(gains: np.ndarray) -> np.ndarray:
    discount = 1.0 / np.log2(np.arange(gains.shape[1]) + 2.0)
    return (np.where(gains > 0, gains, 0.0) * discount).sum(axis=1)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def _compute(m: Measure, grades: np.ndarray, ideal: np.ndarray, num_rel: np.ndarray) -> np.ndarray:
    rel = (grades >= 1).astype(np.float64)  # relevance_level 1
    k = m.k
    if m.family == "ndcg":
        return _safe_div(_dcg(_cut(grades, k)), _dcg(_cut(ideal, k)))
    if m.family == "p":
        return _cut(rel, k).sum(axis=1) / k
    if m.family == "recall":
        return _safe_div(_cut(rel, k).sum(axis=1), num_rel)
    if m.family == "f1":
        hits = _cut(rel, k).sum(axis=1)
        precision, recall = hits / k, _safe_div(hits, num_rel)
        return _safe_div(2 * precision * recall, precision + recall)
    if m.family in ("success", "hit_rate"):
        return (_cut(rel, k).sum(axis=1) > 0).astype(np.float64)
    if m.family == "map":
        r = _cut(rel, k)
        precision_at_i = np.cumsum(r, axis=1) / np.arange(1, r.shape[1] + 1)
        return _safe_div((precision_at_i * r).sum(axis=1), num_rel)
    if m.family == "mrr":
        r = _cut(rel, k)
        found = r.any(axis=1)
        first = np.argmax(r > 0, axis=1) + 1.0
        return np.where(found, 1.0 / first, 0.0)
    if m.family == "r_precision":
        ranks = np.arange(rel.shape[1])[None, :]
        return _safe_div((rel * (ranks < num_rel[:, None])).sum(axis=1), num_rel)
    raise AssertionError(m)  # pragma: no cover - parse_measure guards this


def evaluate(
    qrels: Qrels,
    run: Run,
    measures: Iterable[str] | str,
    per_query: bool = False,
    missing: str = "skip",
) -> dict:
    """Score ``run`` against ``qrels`` with trec_eval's definitions (see the module docstring).

    Args:
        qrels: ``{qid: {docid: grade}}``; grade >= 1 is relevant, 0 judged not relevant.
        run: ``{qid: {docid: score}}``; higher is better; ties broken by doc id descending.
        measures: names such as ``["ndcg@10", "map", "recall@100"]`` (or one name).
        per_query: return ``{qid: {measure: value}}`` instead of the means.
        missing: ``"skip"`` (pytrec_eval: average over queries in both run and qrels) or ``"zero"``
            (``trec_eval -c``: qrels queries the run misses count as 0).

    Returns:
        ``{measure: mean}`` (floats), or ``{qid: {measure: value}}`` with ``per_query=True``.

    >>> evaluate({"q": {"a": 1}}, {"q": {"a": 2.0, "b": 1.0}}, "p@2")
    {'p@2': 0.5}
    """
    if isinstance(measures, str):
        measures = [measures]
    parsed = [parse_measure(name) for name in measures]
    if not parsed:
        raise ValueError("evaluate(measures=[]): give at least one measure, e.g. ['ndcg@10']")
    if missing not in ("skip", "zero"):
        raise ValueError(f"evaluate(missing={missing!r}): expected 'skip' or 'zero'")
    if not run:
        raise ValueError("evaluate(run={}): the run is empty (no query has results)")
    if not qrels:
        raise ValueError("evaluate(qrels={}): the qrels are empty")
    qids = [q for q in run if q in qrels]
    if missing == "zero":
        qids += [q for q in qrels if q not in run]
    if not qids:
        raise ValueError(
            f"evaluate: no query of the run ({len(run)} queries, e.g. {next(iter(run))!r}) "
            f"is in the qrels (e.g. {next(iter(qrels))!r}); are they from the same split?"
        )
    full_run = {q: run.get(q, {}) for q in qids}
    grades = _ranked_grades(qrels, full_run, qids)
    ideal = _ideal_grades(qrels, qids)
    num_rel = np.array([sum(1 for g in qrels[q].values() if g >= 1) for q in qids], dtype=np.float64)
    values = {m.name: _compute(m, grades, ideal, num_rel) for m in parsed}
    if per_query:
        return {q: {name: float(v[i]) for name, v in values.items()} for i, q in enumerate(qids)}
    return {name: float(v.mean()) for name, v in values.items()}


def ndcg10(qrels: Qrels, run: Run) -> float:
    """Mean nDCG@10 (trec_eval's definition) over the queries in both ``run`` and ``qrels``."""
    return float(evaluate(qrels, run, ["ndcg@10"])["ndcg@10"])


def per_query_array(qrels: Qrels, run: Run, measure: str, qids: list[str] | None = None) -> np.ndarray:
    """One measure per query as a numpy array in the order of ``qids`` (default: evaluated queries).

    Handy for paired significance tests and plots of per-query distributions.
    """
    scores = evaluate(qrels, run, [measure], per_query=True, missing="zero" if qids else "skip")
    name = parse_measure(measure).name
    qids = qids if qids is not None else list(scores)
    return np.array([scores[q][name] if q in scores else 0.0 for q in qids])


def measure_correlation(qrels: Qrels, run: Run, measures: Iterable[str]) -> tuple[np.ndarray, int]:
    """How strongly measures agree query by query: the Pearson correlation matrix (m, m) of ``measures``
    over the evaluated queries of ``run`` (per-query values, :func:`evaluate` with ``per_query=True``), and
    the number of queries n. A measure that is constant over the queries (e.g. recall@100 = 1 on a small
    corpus) has no correlation: its row and column are NaN. Introduced in notebook 11.

    >>> corr, n = measure_correlation(qrels, run, ["ndcg@10", "mrr"]); corr[0, 1]   # r(nDCG@10, MRR)
    """
    measures = list(measures)
    values = evaluate(qrels, run, measures, per_query=True)
    names = [parse_measure(m).name for m in measures]
    matrix = np.array([[values[q][m] for m in names] for q in values])
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(matrix.T)
    return np.atleast_2d(corr), len(matrix)


def compare(qrels: Qrels, runs: Mapping[str, Run], measures: Iterable[str]) -> dict[str, dict[str, float]]:
    """``{system: {measure: mean}}`` for several named runs over the same qrels."""
    measures = list(measures)
    return {name: evaluate(qrels, run, measures) for name, run in runs.items()}


def to_markdown(table: Mapping[str, Mapping[str, float]], digits: int = 4) -> str:
    """A ``{row: {column: value}}`` table (e.g. from :func:`compare`) as a Markdown table."""
    columns = list(dict.fromkeys(c for row in table.values() for c in row))
    lines = ["| | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, row in table.items():
        cells = [f"{row[c]:.{digits}f}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
