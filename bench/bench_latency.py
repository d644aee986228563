"""Cross-encoder vs dual-encoder latency on this machine: ms per query for 100 candidates.

The cost of re-ranking does not depend on what the weights learned, so this needs no training:
the cross-encoder is the MiniLM backbone with a fresh binary head (the same shape as the trained
re-ranker of bench_cross.py), the dual encoder is sentence-transformers' all-MiniLM-L6-v2 with the
100 candidate vectors already in the index (a dual encoder's query-time cost: one query encode +
100 dot products). Rows: cross-encoder fp32, cross-encoder int8 (dynamic quantization), the dual
encoder, and the dual encoder with no index (the 100 documents encoded at query time too).

    python bench/bench_latency.py --out bench/results/latency_cpu.txt     # ~2 min on 2 cores
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cross import latency, latency_candidates  # noqa: E402

from lessonlib.core import config  # noqa: E402
from lessonlib.cross import CrossEncoder  # noqa: E402
from lessonlib.cross.efficiency import quantize_int8  # noqa: E402
from lessonlib.data import load_dataset  # noqa: E402
from lessonlib.core.io import atomic_write  # noqa: E402
from lessonlib.core.hub import resolve_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="scifact")
    p.add_argument("--model", default=config.DEFAULT_MODEL)
    p.add_argument("--device", default=None, help="cpu | cuda (default: lessonlib.core.config.device())")
    p.add_argument("--queries", type=int, default=20, help="queries timed per row")
    p.add_argument("--threads", type=int, default=None, help="torch threads on CPU (default: all cores)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    from sentence_transformers import SentenceTransformer

    device = config.device(args.device)
    if device == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    test = load_dataset(args.data, "test")
    path = resolve_model(args.model)
    st = SentenceTransformer(str(path), device=device)
    ce = CrossEncoder(path, overflow="truncate", max_length=256, device=device).eval()
    where = torch.cuda.get_device_name(0) if device == "cuda" else f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads"
    lines = [f"# bench_latency: {args.data} test, 100 candidates/query, {args.queries} queries, max 256 tokens/pair, "
             f"{device} ({where}), torch {torch.__version__}",
             f"{'system':<34}{'ms/query':>10}{'pairs/s':>9}{'x dual':>8}"]
    rows = {"cross-encoder fp32": latency(ce, st, None, test, test.queries, device, n_queries=args.queries)}
    if device == "cpu":
        rows["cross-encoder int8 (dynamic)"] = latency(quantize_int8(ce), st, None, test, test.queries, device,
                                                       n_queries=args.queries)
    dual_ms = rows["cross-encoder fp32"]["dual_ms_per_query"]
    for name, r in rows.items():
        lines.append(f"{name:<34}{r['ce_ms_per_query']:>10.1f}{r['ce_pairs_per_s']:>9.0f}{r['ce_ms_per_query'] / dual_ms:>8.1f}")
    lines.append(f"{'dual encoder (index holds docs)':<34}{dual_ms:>10.1f}{'-':>9}{1.0:>8.1f}")
    _, docs = latency_candidates(test)  # the 100 documents the rows above scored
    qids = list(test.queries)[: args.queries]
    t0 = time.perf_counter()
    for q in qids:  # no index: the documents are encoded at query time as well
        v = st.encode([test.queries[q]], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
        e = st.encode(docs, batch_size=100, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
        _ = (v @ e.T).cpu()
    cold = (time.perf_counter() - t0) / len(qids) * 1000
    lines.append(f"{'dual encoder, docs encoded per query':<34}{cold:>10.1f}{'-':>9}{cold / dual_ms:>8.1f}")
    print("\n".join(lines))
    if args.out:
        with atomic_write(args.out) as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
