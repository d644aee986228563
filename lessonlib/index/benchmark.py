"""An ANN benchmark harness in the manner of ann-benchmarks (Aumüller, Bernhardsson & Faithfull 2020).

For each index and each setting of its search knob: recall@k against exact search, queries per
second (one batched call), latency percentiles p50/p95/p99 (one query per call), build time and
memory; then the Pareto frontier of (recall, QPS). Plus helpers for SciFact embeddings, nDCG@10
of an index's results (mean and per query, also after a dimensionality reduction), what a compressed
index costs (``compression_row``), and query-thread scaling.

>>> truth = exact_neighbors(x, q, 10)
>>> rows = sweep("IVF", lambda: IVFIndex(384, nlist=64).train(x).add(x), q, truth, knob="nprobe", values=[1, 4, 16])
>>> print(format_table(rows)); frontier = pareto(rows)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from lessonlib.core import config
from lessonlib.core.runs import hits_to_run
from lessonlib.core.similarity import INDEX_METRICS, check_similarity, faiss_metric
from lessonlib.core.vectors import l2_normalize
from lessonlib.data import course_dataset
from lessonlib.dual.encode import encode
from lessonlib.evaluation.metrics import evaluate, per_query_array


@dataclass
class Row:
    """One measured point: an index at one knob setting."""

    name: str
    params: dict = field(default_factory=dict)
    recall: float = float("nan")
    qps: float = float("nan")
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    p99_ms: float = float("nan")
    build_s: float = float("nan")
    memory_mb: float = float("nan")
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def exact_neighbors(x: np.ndarray, q: np.ndarray, k: int, metric: str = "ip") -> np.ndarray:
    """Ground-truth ids (nq, k) by exhaustive search (FAISS IndexFlat, blocks of 64k rows, so a
    memory-mapped 1M x 384 matrix is streamed rather than loaded twice)."""
    import faiss

    from lessonlib.index.base import merge_topk  # deferred: pulls in tqdm

    check_similarity("exact_neighbors", metric, INDEX_METRICS, param="metric")
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    q = np.ascontiguousarray(q, np.float32)
    for s in range(0, len(x), 65536):
        block = np.ascontiguousarray(x[s:s + 65536], np.float32)
        flat = faiss.IndexFlat(x.shape[1], faiss_metric(metric, "exact_neighbors"))
        flat.add(block)
        d, i = flat.search(q, min(k, len(block)))
        best_s, best_i = merge_topk(best_s, best_i, d if metric == "ip" else -d, i, k, offset=s)
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean over queries of |found[:k] ∩ truth[:k]| / k (ann-benchmarks' "k-nn recall")."""
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth)]
    return float(np.mean(hits) / k)


def time_search(index, q: np.ndarray, k: int, n_latency: int = 200, repeat: int = 1) -> dict:
    """QPS from batched calls (best of ``repeat``) and p50/p95/p99 latency (ms) from one-query calls."""
    best = float("inf")
    ids = None
    for _ in range(repeat):
        t = time.perf_counter()
        _, ids = index.search(q, k)
        best = min(best, time.perf_counter() - t)
    lat = []
    for i in range(min(n_latency, len(q))):
        t = time.perf_counter()
        index.search(q[i:i + 1], k)
        lat.append((time.perf_counter() - t) * 1e3)
    lat = np.array(lat) if lat else np.array([np.nan])
    return {"ids": ids, "qps": len(q) / best, "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)), "p99_ms": float(np.percentile(lat, 99))}


def set_knob(index, name: str, value) -> None:
    """Change a search-time knob (``nprobe``, ``efSearch``, ``search_k``...) on any index."""
    if hasattr(index, "set") and callable(index.set):
        try:
            index.set(**{name: value})
            return
        except TypeError:
            pass
    if not hasattr(index, name):
        raise ValueError(f"set_knob({name!r}): {type(index).__name__} has no knob {name!r}")
    setattr(index, name, value)
    if hasattr(index, "_built") and name in ("num_leaves_to_search", "reorder"):
        index._built = None


def measure(name: str, index, q: np.ndarray, truth: np.ndarray, k: int = 10, build_s: float = float("nan"),
            params: dict | None = None, n_latency: int = 200) -> Row:
    t = time_search(index, q, k, n_latency=n_latency)
    return Row(name, dict(params or {}), recall_at_k(t["ids"], truth, k), t["qps"], t["p50_ms"], t["p95_ms"],
               t["p99_ms"], build_s, index.memory_bytes() / 2**20)


def build_index(make: Callable[[], object]) -> tuple[object, float]:
    """Call ``make()`` (which trains and fills an index) and time it."""
    t = time.perf_counter()
    index = make()
    return index, time.perf_counter() - t


def sweep(name: str, make: Callable[[], object], q: np.ndarray, truth: np.ndarray, knob: str | None = None,
          values: Iterable = (None,), k: int = 10, n_latency: int = 200, index=None, build_s: float | None = None) -> list[Row]:
    """Build once (or take ``index``), then measure at each ``knob`` value."""
    if index is None:
        index, build_s = build_index(make)
    rows = []
    for v in values:
        if knob is not None and v is not None:
            set_knob(index, knob, v)
        rows.append(measure(name, index, q, truth, k, build_s if build_s is not None else float("nan"),
                            {knob: v} if knob else {}, n_latency))
    return rows


def pareto(rows: Sequence[Row]) -> list[Row]:
    """Rows not dominated by another row with both higher recall and higher QPS (best recall first)."""
    ordered = sorted(rows, key=lambda r: (-r.recall, -r.qps))
    front, best_qps = [], -1.0
    for r in ordered:
        if r.qps > best_qps:
            front.append(r)
            best_qps = r.qps
    return front


def thread_scaling(index, q: np.ndarray, k: int, threads: Sequence[int] = (1, 2, 4)) -> dict[int, float]:
    """QPS when ``t`` client threads issue one-query searches concurrently (FAISS/hnswlib release the GIL)."""
    out = {}
    for t in threads:
        start = time.perf_counter()
        with ThreadPoolExecutor(t) as pool:
            list(pool.map(lambda i: index.search(q[i:i + 1], k), range(len(q))))
        out[t] = len(q) / (time.perf_counter() - start)
    return out


def format_table(rows: Sequence[Row], baseline_qps: float | None = None) -> str:
    """Plain-text table; with ``baseline_qps`` a speed-up column (x exact search)."""
    head = f"{'index':<28}{'params':<24}{'recall@k':>9}{'QPS':>10}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'build s':>8}{'MiB':>8}"
    if baseline_qps:
        head += f"{'xExact':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        p = ",".join(f"{k}={v}" for k, v in r.params.items())
        line = (f"{r.name[:27]:<28}{p[:23]:<24}{r.recall:>9.3f}{r.qps:>10.0f}{r.p50_ms:>8.2f}{r.p95_ms:>8.2f}"
                f"{r.p99_ms:>8.2f}{r.build_s:>8.2f}{r.memory_mb:>8.1f}")
        if baseline_qps:
            line += f"{r.qps / baseline_qps:>8.1f}"
        lines.append(line)
    return "\n".join(lines)


# -- real vectors --------------------------------------------------------------------------------------
def scifact_embeddings(dataset=None, model: str = config.DEFAULT_MODEL) -> tuple[np.ndarray, np.ndarray, object]:
    """(doc vectors (n, 384), query vectors (nq, 384), dataset), unit-normalised (ip = cosine).

    Encodes through ``lessonlib.dual.encode.encode`` (on-disk embedding cache: the corpus is encoded
    once per machine, ~5 min on 2 CPU cores the first time).
    """
    if dataset is None:

        dataset = course_dataset("test")
    docs = encode(model, dataset.doc_texts(), kind="doc")
    queries = encode(model, list(dataset.queries.values()), kind="query", show_progress=False)
    docs = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return docs.astype(np.float32), queries.astype(np.float32), dataset


def _positions_run(dataset, ids: np.ndarray, scores: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Row i of ``ids`` (corpus positions, -1 = no hit) as the run of the i-th query of ``dataset.queries``;
    without ``scores`` a row's documents score k, k-1, ..., 1 (their rank order)."""
    if scores is None:
        scores = np.broadcast_to(np.arange(ids.shape[1], 0, -1, dtype=np.float64), ids.shape)
    return hits_to_run(list(dataset.queries), dataset.doc_ids, scores, ids)


def ndcg_at_10(dataset, ids: np.ndarray, scores: np.ndarray | None = None) -> float:
    """nDCG@10 (trec_eval definition, lessonlib.evaluation.metrics) of an index's (nq, k) results on ``dataset``;
    row i of ``ids`` answers the i-th query of ``dataset.queries``, ids are corpus positions."""
    return float(evaluate(dataset.qrels, _positions_run(dataset, ids, scores), ["ndcg@10"])["ndcg@10"])


def ndcg_per_query(dataset, ids: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """nDCG@10 of each query (nq,), in ``dataset.queries`` order, of an index's (nq, k) results ``ids``
    (corpus positions, as :func:`ndcg_at_10` takes them): the per-query values a paired test compares.

    A query with no judgments scores 0. Introduced in notebook 06.

    >>> ndcg_per_query(ds, FlatIndex(384).add(docs).search(queries, 10)[1]).shape  # (nq,)
    """
    return per_query_array(dataset.qrels, _positions_run(dataset, ids, scores), "ndcg@10", list(dataset.queries))


def projected_ndcg_per_query(projection, docs: np.ndarray, queries: np.ndarray, dataset, k: int = 10) -> np.ndarray:
    """nDCG@10 per query (nq,) of exact inner-product search after a dimensionality reduction: documents
    and queries mapped by ``projection.transform`` (PCA, RandomProjection, LearnedProjection: D -> m) and
    unit-normalised, so the score is the cosine in the reduced space. Introduced in notebook 06.

    >>> projected_ndcg_per_query(PCA(64).fit(docs), docs, queries, ds).mean()  # nDCG@10 at 64 dimensions
    """
    from lessonlib.index.flat import FlatIndex  # deferred: pulls in tqdm

    d, q = l2_normalize(projection.transform(docs)), l2_normalize(projection.transform(queries))
    return ndcg_per_query(dataset, FlatIndex(d.shape[1]).add(d).search(q, k)[1])


def compression_row(name: str, index, docs: np.ndarray, queries: np.ndarray, truth: np.ndarray, dataset,
                    nbytes: float, k: int = 10) -> dict:
    """Train and fill ``index`` with ``docs`` (n, D), search ``queries`` (nq, D), and measure what compressing
    each vector to ``nbytes`` bytes cost. Introduced in notebook 06.

    Returns a dict: ``method`` (= ``name``), ``bytes`` (= ``nbytes``), ``ratio`` = 4·D / nbytes (float32 over
    stored bytes), ``errs`` (n,) = ‖x̂_i − x_i‖² with x̂ = ``index.reconstruct(x)`` (NaN where the index cannot
    reconstruct), ``recon_err`` = mean of ``errs``, ``recall`` = recall@k against ``truth`` (exact neighbours,
    :func:`recall_at_k`), ``ndcg_q`` (nq,) = nDCG@10 per query on ``dataset`` (:func:`ndcg_per_query`) and
    ``ndcg`` = its mean.

    >>> row = compression_row("SQ8", SQIndex(384, nbits=8), docs, queries, truth, ds, nbytes=384)
    >>> row["ratio"], row["recall"]  # (4.0, ...)
    """
    index.train(docs).add(docs)
    ids = index.search(queries, k)[1]
    errs = ((index.reconstruct(docs) - docs) ** 2).sum(1) if hasattr(index, "reconstruct") else np.full(len(docs), np.nan)
    per_q = ndcg_per_query(dataset, ids)
    return dict(method=name, bytes=nbytes, ratio=4 * docs.shape[1] / nbytes, recon_err=float(errs.mean()),
                recall=recall_at_k(ids, truth, k), ndcg=float(per_q.mean()), errs=errs, ndcg_q=per_q)
