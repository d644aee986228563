"""Encoding speed and quality: lessonlib.dual.encode (torch and ONNX Runtime, fp32 and int8) against sentence-transformers.

Same model (all-MiniLM-L6-v2), same texts (a seeded sample of SciFact documents), same batch size,
same torch threads, timed in ONE process, interleaved (A B C, B C A, ...) and repeated so that a
machine shared with other work affects every system alike; the table reports the median time
and the median of the per-round speed ratios against sentence-transformers.

Quality: nDCG@10 on SciFact test (full corpus with --ndcg full, encoded once through the
embedding cache for lessonlib; or the seeded subset used in fast mode with --ndcg subset).

    python bench/bench_encode.py --n-docs 1000 --repeats 3 --ndcg full
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-docs", type=int, default=1000, help="documents timed per round")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--ndcg", choices=["none", "subset", "full"], default="subset")
    parser.add_argument("--st-full", action="store_true", help="with --ndcg full, also encode the full corpus with ST")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    from lessonlib.dual import encode as E
    from lessonlib.core.config import DEFAULT_MODEL
    from lessonlib.data import load_dataset
    from lessonlib.core.hub import resolve_model
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.core.runs import scores_to_run

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}", file=sys.stderr)
    ds = load_dataset("scifact", "test")
    rng = np.random.default_rng(args.seed)
    all_texts = ds.doc_texts()
    pick = rng.choice(len(all_texts), size=min(args.n_docs, len(all_texts)), replace=False)
    texts = [all_texts[i] for i in pick]

    st = SentenceTransformer(str(resolve_model(DEFAULT_MODEL)), device="cpu")
    st.max_seq_length = args.max_length
    ours = E.load_model(DEFAULT_MODEL)
    ours_q = E.load_model(DEFAULT_MODEL, quantize=True)

    systems = {
        "sentence-transformers": lambda t: st.encode(t, batch_size=args.batch_size, convert_to_numpy=True),
        "lessonlib fp32": lambda t: E.encode(ours, t, batch_size=args.batch_size, max_length=args.max_length,
                                             cache=False, show_progress=False, device="cpu", backend="torch",
                                             precision="fp32"),
        "lessonlib bf16": lambda t: E.encode(ours, t, batch_size=args.batch_size, max_length=args.max_length,
                                             cache=False, show_progress=False, device="cpu", backend="torch",
                                             precision="bf16"),
        "lessonlib int8": lambda t: E.encode(ours_q, t, batch_size=args.batch_size, max_length=args.max_length,
                                             quantize=True, cache=False, show_progress=False, backend="torch"),
        "lessonlib ONNX fp32": lambda t: E.encode(ours, t, batch_size=args.batch_size, max_length=args.max_length,
                                                  cache=False, show_progress=False, device="cpu", backend="onnx"),
        "lessonlib ONNX int8": lambda t: E.encode(ours, t, batch_size=args.batch_size, max_length=args.max_length,
                                                  quantize=True, cache=False, show_progress=False, backend="onnx"),
    }
    names = list(systems)
    for fn in systems.values():  # warm-up: first-call overheads out of the timings
        fn(texts[:8])
    times: dict[str, list[float]] = {n: [] for n in names}
    outputs = {}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            t0 = time.perf_counter()
            outputs[name] = systems[name](texts)
            times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1}: {name}: {times[name][-1]:.1f} s", file=sys.stderr)

    ref = outputs["sentence-transformers"]
    print(f"\nEncoding {len(texts)} SciFact documents (max_length {args.max_length}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, {args.repeats} interleaved rounds)\n")
    print("| system | median s | docs/s | speed vs ST (median of rounds) | max abs diff vs ST | mean cos vs ST |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        ratios = [a / b for a, b in zip(times["sentence-transformers"], times[name])]
        med = statistics.median(times[name])
        out = outputs[name]
        print(f"| {name} | {med:.1f} | {len(texts) / med:.1f} | {statistics.median(ratios):.2f}x "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}) | {np.abs(out - ref).max():.2e} | "
              f"{float((out * ref).sum(1).mean()):.4f} |")

    if args.ndcg != "none":
        data = ds if args.ndcg == "full" else ds.subset(n_docs=1000, n_queries=60, seed=0)
        print(f"\nnDCG@10 on {data.describe() if hasattr(data, 'describe') else data.name}\n")
        print("| system | nDCG@10 | R@100 |")
        print("| --- | --- | --- |")
        rows = {}
        rows["lessonlib fp32"] = E.dense_run(data, DEFAULT_MODEL, k=100, max_length=args.max_length, backend="torch",
                                             precision="fp32")
        rows["lessonlib bf16"] = E.dense_run(data, DEFAULT_MODEL, k=100, max_length=args.max_length, backend="torch",
                                             precision="bf16")
        rows["lessonlib int8"] = E.dense_run(data, DEFAULT_MODEL, k=100, max_length=args.max_length, quantize=True,
                                             backend="torch")
        rows["lessonlib ONNX int8"] = E.dense_run(data, DEFAULT_MODEL, k=100, max_length=args.max_length,
                                                  quantize=True, backend="onnx")
        if args.ndcg == "subset" or args.st_full:
            qids = list(data.queries)
            d = st.encode(data.doc_texts(), batch_size=args.batch_size, show_progress_bar=True)
            q = st.encode([data.queries[x] for x in qids], batch_size=args.batch_size)
            rows["sentence-transformers"] = scores_to_run(qids, data.doc_ids, q @ d.T, 100)
        for name, run in rows.items():
            res = evaluate(data.qrels, run, ["ndcg@10", "recall@100"])
            print(f"| {name} | {res['ndcg@10']:.4f} | {res['recall@100']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
