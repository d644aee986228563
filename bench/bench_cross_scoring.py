"""Cross-encoder pair scoring speed on CPU: lessonlib's engines against sentence-transformers' CrossEncoder.

Same weights (a lessonlib cross-encoder saved to a folder, loaded by both), same pairs (each SciFact
test claim with BM25's top-``--k`` abstracts), same batch size and threads, timed in ONE process,
interleaved (A B C .., B C .. A, ...) and repeated, so a machine shared with other work affects every
system alike. Rows:

* ``sentence-transformers CrossEncoder``: the peer (``CrossEncoder.predict``, no activation);
* ``lessonlib torch fp32``: ``CrossEncoder.score`` with ``backend="torch"`` (the engine before ONNX);
* ``lessonlib torch bf16``: ``precision="bf16"`` (a bf16 copy of the weights, the head kept in fp32;
  what ``precision="auto"`` picks on a CPU with AMX or AVX512-BF16);
* ``lessonlib torch int8``: :func:`lessonlib.cross.efficiency.quantize_int8` (torch dynamic int8);
* ``lessonlib ONNX fp32`` / ``ONNX int8``: ``backend="onnx"`` (:mod:`lessonlib.core.runtime`).

Speed ratios are against ``lessonlib torch fp32`` (the issue's "today's fp32") and the peer; agreement
is Spearman's rho of the scores and the overlap of each claim's top 10 with torch fp32's. With a
trained cross-encoder (``--model DIR``) nDCG@10 of every engine's re-ranking is printed too.

    python bench/bench_cross_scoring.py --queries 20 --k 100 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lessonlib.core import config  # noqa: E402
from lessonlib.cross import CrossEncoder  # noqa: E402
from lessonlib.cross.data import bm25_run  # noqa: E402
from lessonlib.cross.efficiency import quantize_int8  # noqa: E402
from lessonlib.data import load_dataset  # noqa: E402
from lessonlib.evaluation.metrics import evaluate  # noqa: E402
from lessonlib.core.runs import rank_documents  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="scifact")
    p.add_argument("--model", default=config.DEFAULT_MODEL, help="backbone or a saved lessonlib cross-encoder")
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from scipy.stats import spearmanr
    from sentence_transformers import CrossEncoder as STCrossEncoder

    if args.threads:
        torch.set_num_threads(args.threads)
    config.seed_everything(args.seed)
    ds = load_dataset(args.data, "test")
    qids = sorted(ds.qrels)[: args.queries]
    run = bm25_run(ds, {q: ds.queries[q] for q in qids}, k=args.k)
    pairs = [(ds.queries[q], ds.doc_text(d)) for q in qids for d in rank_documents(run[q])[: args.k]]
    owners = [(q, d) for q in qids for d in rank_documents(run[q])[: args.k]]

    ce = CrossEncoder(args.model, max_length=args.max_length, overflow="truncate", device="cpu")
    folder = Path(tempfile.mkdtemp(prefix="bench_cross_scoring."))
    ce.save(folder)
    peer = STCrossEncoder(str(folder), device="cpu", max_length=args.max_length)
    engines = {name: CrossEncoder.load(folder, max_length=args.max_length, overflow="truncate", device="cpu")
               for name in ("torch fp32", "torch bf16", "ONNX fp32", "ONNX int8")}
    engines["torch fp32"].backend = engines["torch bf16"].backend = "torch"
    engines["torch fp32"].precision, engines["torch bf16"].precision = "fp32", "bf16"
    engines["ONNX fp32"].backend = engines["ONNX int8"].backend = "onnx"
    engines["ONNX int8"].int8 = True
    engines["torch int8"] = quantize_int8(engines["torch fp32"])
    systems = {"sentence-transformers CrossEncoder": lambda x: np.asarray(peer.predict(x, batch_size=args.batch_size,
                                                                                       activation_fn=torch.nn.Identity()))}
    systems.update({f"lessonlib {n}": (lambda x, m=m: m.score(x, batch_size=args.batch_size))
                    for n, m in sorted(engines.items())})
    names = list(systems)
    for fn in systems.values():  # warm-up: exports, first-call overheads out of the timings
        fn(pairs[:40])
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}", file=sys.stderr)
    times: dict[str, list[float]] = {n: [] for n in names}
    outputs: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            outputs[name] = np.asarray(systems[name](pairs), dtype=np.float32)
            times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1}: {name}: {times[name][-1]:.1f} s", file=sys.stderr)

    base, peer_name = "lessonlib torch fp32", names[0]
    runs = {n: {} for n in names}
    for n in names:
        for (q, d), s in zip(owners, outputs[n]):
            runs[n].setdefault(q, {})[d] = float(s)
    top10 = {n: {q: set(rank_documents(runs[n][q])[:10]) for q in qids} for n in names}
    print(f"\nScoring {len(pairs)} pairs ({len(qids)} {args.data} test claims x BM25 top {args.k}; max_length "
          f"{args.max_length}, batch {args.batch_size}, {torch.get_num_threads()} threads, {args.repeats} interleaved rounds)\n")
    print("| system | median s | pairs/s | ms per claim (k pairs) | speed vs torch fp32 | speed vs ST | "
          "Spearman vs torch fp32 | top-10 overlap vs torch fp32 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in names:
        med = statistics.median(times[n])
        vs_base = statistics.median(a / b for a, b in zip(times[base], times[n]))
        vs_peer = statistics.median(a / b for a, b in zip(times[peer_name], times[n]))
        rho = spearmanr(outputs[n], outputs[base])[0]
        overlap = np.mean([len(top10[n][q] & top10[base][q]) / 10 for q in qids])
        print(f"| {n} | {med:.1f} | {len(pairs) / med:.1f} | {1000 * med / len(qids):.0f} | {vs_base:.2f}x | "
              f"{vs_peer:.2f}x | {rho:.4f} | {overlap:.3f} |")
    if Path(args.model).is_dir():
        print("\n| system | nDCG@10 (re-ranking BM25 top k) |\n| --- | --- |")
        for n in names:
            res = evaluate({q: ds.qrels[q] for q in qids}, runs[n], ["ndcg@10"])
            print(f"| {n} | {res['ndcg@10']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
