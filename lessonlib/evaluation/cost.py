"""What a ranking system costs — time, memory, energy, money — and query types for per-type gaps.

Cost model (everything per 1,000 queries; prices and powers are *stated inputs*, not facts)::

    machine_s  = 1000 * ms_per_query / 1000 / parallel        (parallel = queries served at once)
    usd        = machine_s / 3600 * usd_per_hour              (rented machine; its price includes power)
    kwh        = machine_s * watts / 3.6e6                    (power drawn while busy)
    g_co2      = kwh * grams_co2_per_kwh

A dual encoder also pays once to encode the corpus (``lessonlib.evaluation.cross_vs_dual.dual_cross_cost`` gives
the break-even number of queries). ``machines_for`` sizes a fleet for a query rate,
``rerank_depth_within`` says how many candidates fit a latency budget, ``cheapest_within`` picks
the cheapest setting within a quality tolerance (on a validation split). Strubell et al. 2019
("Energy and policy considerations for deep learning in NLP") and Henderson et al. 2020 ("Towards
the systematic reporting of the energy and carbon footprints of machine learning") are the
references for measuring and reporting energy.

* ``EnergyMeter`` (defined in :mod:`lessonlib.evaluation.energy`, re-exported here): joules of a
  block of code, from Intel RAPL counters (``/sys/class/powercap/intel-rapl:N/energy_uj``, whole
  CPU package, wrap-around handled) where the machine exposes them, else an **estimate** = stated
  watts per core x the process's CPU seconds (``source`` says which); NVIDIA GPUs through NVML or
  ``nvidia-smi`` with ``gpu=True``.
* ``PeakMemory``: peak resident memory of this process above its level at the start (sampled).
* ``pair_token_counts``: tokens a cross-encoder reads per pair; ``MeteredStage`` / ``cascade_run``
  (:func:`lessonlib.retrieval.cascade.cascade`, metered):
  the cost of a cascade with early termination over precomputed stage scores.
* Query types: ``lexical_overlap`` (share of a query's stemmed content terms found in its relevant
  documents), ``quantile_buckets`` (terciles -> "low" / "mid" / "high"), ``query_types`` (the
  sample collection's own ``query_types.tsv``, else overlap or length terciles), ``per_bucket``.

>>> cpu = Hardware("2 vCPU", usd_per_hour=0.10, watts=15.0)
>>> cost_per_1000_queries(250.0, cpu)["usd"]  # 250 ms per query on a $0.10/h machine
0.00694...
"""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lessonlib.evaluation.energy import EnergyMeter, process_cpu_seconds  # noqa: F401  (cost.EnergyMeter: the notebooks' name)
from lessonlib.retrieval.cascade import Stage, cascade


# ------------------------------------------------------------------------------ cost model
@dataclass(frozen=True)
class Hardware:
    """A machine as the cost model sees it: its price, its power when busy, queries served at once."""

    name: str
    usd_per_hour: float
    watts: float
    parallel: int = 1

    def __post_init__(self) -> None:
        if self.usd_per_hour < 0 or self.watts < 0:
            raise ValueError(f"Hardware({self.name!r}): usd_per_hour and watts must be >= 0")
        if self.parallel < 1:
            raise ValueError(f"Hardware(parallel={self.parallel}): must be >= 1")


def cost_per_1000_queries(ms_per_query: float, hardware: Hardware, grams_co2_per_kwh: float = 400.0,
                          usd_per_kwh: float = 0.15) -> dict[str, float]:
    """Machine seconds, rental USD, kWh, energy USD (if you own the machine) and grams of CO2 per 1,000 queries.

    ``ms_per_query`` is the busy time one query takes on ``hardware`` (measured); 400 g CO2/kWh is
    roughly a world-average grid, 0.15 USD/kWh an industrial price: stated assumptions, change them.
    """
    if ms_per_query < 0:
        raise ValueError(f"cost_per_1000_queries(ms_per_query={ms_per_query}): must be >= 0")
    machine_s = 1000 * ms_per_query / 1000 / hardware.parallel
    kwh = machine_s * hardware.watts / 3.6e6
    return {"machine_s": machine_s, "usd": machine_s / 3600 * hardware.usd_per_hour, "kwh": kwh,
            "usd_energy": kwh * usd_per_kwh, "g_co2": kwh * grams_co2_per_kwh}


def machines_for(qps: float, ms_per_query: float, parallel: int = 1, utilisation: float = 0.6) -> int:
    """Machines needed to serve ``qps`` queries/s when each busy-slot takes ``ms_per_query`` and
    machines run at ``utilisation`` (headroom for bursts and tail latency): ceil(qps * t / (parallel * u))."""
    if not 0 < utilisation <= 1:
        raise ValueError(f"machines_for(utilisation={utilisation}): expected 0 < utilisation <= 1")
    return max(1, int(np.ceil(qps * ms_per_query / 1000 / (parallel * utilisation))))


def rerank_depth_within(budget_ms: float, ms_per_pair: float, overhead_ms: float = 0.0) -> int:
    """How many candidates a re-ranker can score inside a latency budget: floor((budget - overhead) / per pair)."""
    if ms_per_pair <= 0:
        raise ValueError(f"rerank_depth_within(ms_per_pair={ms_per_pair}): must be > 0")
    return max(0, int((budget_ms - overhead_ms) // ms_per_pair))


def cheapest_within(quality: Sequence[float], cost: Sequence[float], tolerance: float = 0.01) -> int:
    """Index of the cheapest option whose quality is at least max(quality) - ``tolerance``.

    The rule for picking a cascade or compression setting on a validation split: give up at most
    ``tolerance`` of quality, save as much as possible. Ties in cost go to the higher quality.
    """
    q, c = np.asarray(quality, dtype=float), np.asarray(cost, dtype=float)
    if q.shape != c.shape or q.ndim != 1 or len(q) == 0:
        raise ValueError(f"cheapest_within: quality and cost must be 1-D of one length, got {q.shape}, {c.shape}")
    ok = np.flatnonzero(q >= q.max() - tolerance)
    return int(ok[np.lexsort((-q[ok], c[ok]))[0]])


def pair_token_counts(ce, queries: Sequence[str], docs: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Tokens (n,) a cross-encoder ``ce`` reads per pair: ``[CLS] q [SEP] d [SEP]`` cut to ``ce.max_length``.

    Compute grows with the tokens (linear layers) and their square (attention): the cost unit of
    truncation and window strategies.
    """
    out = np.zeros(len(queries), dtype=np.int64)
    for start in range(0, len(queries), batch_size):
        qs = [ce._cut_query(q) for q in queries[start: start + batch_size]]
        enc = ce.tokenizer(qs, list(docs[start: start + batch_size]), truncation="only_second",
                           max_length=ce.max_length)
        out[start: start + len(qs)] = [len(x) for x in enc["input_ids"]]
    return out


class MeteredStage:
    """A cascade stage over precomputed scores that counts what it is asked to score.

    ``stage(idx)`` returns ``scores[idx]`` and adds ``unit_cost[idx].sum()`` to ``cost`` (e.g. the
    number of windows, tokens or milliseconds each candidate costs at this stage).
    """

    def __init__(self, scores: Sequence[float], unit_cost: Sequence[float] | None = None) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)
        self.unit_cost = np.ones(len(self.scores)) if unit_cost is None else np.asarray(unit_cost, dtype=np.float64)
        if self.unit_cost.shape != self.scores.shape:
            raise ValueError(f"MeteredStage: {self.scores.shape} scores but {self.unit_cost.shape} unit costs")
        self.cost = 0.0
        self.calls = 0

    def __call__(self, idx: Sequence[int]) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        self.cost += float(self.unit_cost[idx].sum())
        self.calls += len(idx)
        return self.scores[idx]


def cascade_run(candidates, stage_scores: Sequence[Sequence[float]], stage_costs: Sequence[Sequence[float]],
                keep: Sequence[int], drop_below: float | None = None) -> tuple[dict, list[float]]:
    """:func:`lessonlib.retrieval.cascade.cascade` per query over precomputed stage scores, metered.

    ``stage_scores[j]`` and ``stage_costs[j]`` are arrays (n,) over ``candidates`` (a
    ``lessonlib.retrieval.candidates.Candidates``); stage 0 scores every candidate, ``keep[j]``
    candidates per query go on to stage j+1, and with ``drop_below`` a candidate whose stage score is
    below it stops early. Returns (run, total cost spent at each stage).
    """
    if len(keep) != len(stage_scores) - 1:
        raise ValueError(f"cascade_run(keep={list(keep)}): need one value per stage after the first")
    run: dict = {}
    spent = [0.0] * len(stage_scores)
    for qid, pos in candidates.by_query().items():
        meters = [MeteredStage(np.asarray(s)[pos], np.asarray(c)[pos]) for s, c in zip(stage_scores, stage_costs)]
        at = {candidates.dids[i]: j for j, i in enumerate(pos)}
        first = {qid: dict(zip(at, meters[0](range(len(pos))).tolist()))}
        stages = [Stage(f"stage {j}", lambda q, docs, m=m: m([at[d] for d in docs]), depth=k)
                  for j, (m, k) in enumerate(zip(meters[1:], keep), start=1)]
        run[qid] = cascade(first, stages, first_name="stage 0", drop_below=drop_below).run[qid]
        for j, meter in enumerate(meters):
            spent[j] += meter.cost
    return run, spent


# ------------------------------------------------------------------------------ memory
def rss_bytes() -> int:
    """Resident memory of this process now (``/proc/self/statm``; falls back to the peak RSS)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere), so that
    memory the allocator kept from earlier work does not hide the next peak."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every ``interval`` s by a thread.

    Entry first calls ``release_free_memory`` (glibc), so the baseline is what is really in use.

    >>> with PeakMemory() as mem:
    ...     x = bytearray(50_000_000)
    >>> mem.peak_bytes > 40_000_000
    True
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak_bytes = 0

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        release_free_memory()
        self._base = self._peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._peak = max(self._peak, rss_bytes())
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(0, self._peak - self._base)


def tensor_bytes(module) -> int:
    """Bytes of a torch module's parameters and buffers (int8-packed quantized weights included)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getbuffer().nbytes


# ------------------------------------------------------------------------------ query types
def lexical_overlap(query: str, docs: Sequence[str], tokenizer=None) -> float:
    """Share of the query's distinct content terms (stemmed, stop words removed) found in ``docs``.

    overlap(q, D) = |terms(q) & union_d terms(d)| / |terms(q)|; 0 for a query without terms.
    """
    if tokenizer is None:
        from lessonlib.retrieval.bm25 import Tokenizer  # deferred: pulls in scipy

        tokenizer = Tokenizer()
    q = set(tokenizer(query))
    if not q:
        return 0.0
    d: set[str] = set()
    for text in docs:
        d.update(tokenizer(text))
    return len(q & d) / len(q)


def quantile_buckets(values: Mapping[str, float], labels: Sequence[str] = ("low", "mid", "high")) -> dict[str, str]:
    """Ids -> label by the rank of their value (terciles for 3 labels); tied values share a bucket.

    With r the average rank (1..n, ties averaged) and m labels: bucket = floor((r - 1/2) / n * m).
    """
    from scipy.stats import rankdata

    if not values:
        return {}
    ids = list(values)
    r = rankdata([values[i] for i in ids], method="average")
    pos = np.clip(np.floor((r - 0.5) / len(ids) * len(labels)).astype(int), 0, len(labels) - 1)
    return {i: labels[int(p)] for i, p in zip(ids, pos)}


def query_traits(dataset, min_grade: int = 1) -> dict[str, dict[str, float]]:
    """Per query: ``length`` (content terms) and ``overlap`` with its relevant documents (grade >= min_grade)."""
    from lessonlib.retrieval.bm25 import Tokenizer  # deferred: pulls in scipy

    tok = Tokenizer()
    out = {}
    for qid, text in dataset.queries.items():
        rel = [dataset.doc_text(d) for d, g in dataset.qrels.get(qid, {}).items() if g >= min_grade and d in dataset.corpus]
        out[qid] = {"length": float(len(tok(text))), "overlap": lexical_overlap(text, rel, tok)}
    return out


def query_types(dataset, proxy: str = "overlap", use_file: bool = True) -> dict[str, str]:
    """Query id -> type. The sample collection's ``query_types.tsv`` when the dataset has one
    (types: plain, paraphrase, identifier, long, near_duplicate); otherwise a proxy:
    ``"overlap"`` -> "low/mid/high overlap" terciles of ``lexical_overlap`` with the relevant
    abstracts (low overlap = the words differ: a paraphrase-like claim), ``"length"`` -> "short/
    mid/long" terciles of the claim's content terms. ``use_file=False`` always uses the proxy.
    """
    if proxy not in ("overlap", "length"):
        raise ValueError(f"query_types(proxy={proxy!r}): expected 'overlap' or 'length'")
    path = Path(dataset.meta.get("path", "")) / "query_types.tsv" if dataset.meta.get("path") else None
    if use_file and path is not None and path.is_file():
        types = {}
        for line in path.read_text().splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] in dataset.queries:
                types[parts[0]] = parts[1]
        return types
    feats = query_traits(dataset)
    values = {q: f[proxy] for q, f in feats.items()}
    labels = ("low overlap", "mid overlap", "high overlap") if proxy == "overlap" else ("short", "mid", "long")
    return quantile_buckets(values, labels)


def per_bucket(per_query: Mapping[str, float], types: Mapping[str, str]) -> dict[str, tuple[float, int]]:
    """Mean of a per-query measure within each type: ``{type: (mean, n)}``, types in sorted order."""
    groups: dict[str, list[float]] = {}
    for qid, v in per_query.items():
        if qid in types:
            groups.setdefault(types[qid], []).append(float(v))
    return {t: (float(np.mean(v)), len(v)) for t, v in sorted(groups.items())}
