"""Interaction models on SciFact: train on train (BM25 negatives), rerank BM25 top-100 on test.

For each model: nDCG@10 of the model alone, of BM25 alone on the same candidates, and of the
interpolation z(model) + w z(BM25) with w chosen on a validation split carved from train;
trainable parameters (embeddings frozen), training and reranking time.

    python bench/bench_interaction.py                  # CPU, a few minutes on an idle 2-core machine
    python bench/bench_interaction.py --epochs 1 --test-queries 100 --models knrm conv_knrm

Writes bench/results/interaction.txt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from lessonlib.interaction import train as T

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["knrm", "conv_knrm", "ntn", "ntn_lowrank", "coattention", "hierarchical"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=None, help="default: 1e-2 for kernel models, 2e-3 otherwise")
    p.add_argument("--max-doc-len", type=int, default=128)
    p.add_argument("--test-queries", type=int, default=300)
    p.add_argument("--val-queries", type=int, default=100)
    p.add_argument("--train-queries", type=int, default=None, help="use only the first N training claims")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "interaction.txt"))
    args = p.parse_args(argv)

    import torch

    from lessonlib.core.config import seed_everything
    from lessonlib.data import load_dataset
    from lessonlib.interaction.matrix import count_parameters
    from lessonlib.core.io import atomic_write

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    t0 = time.perf_counter()
    train, test = load_dataset("scifact", "train"), load_dataset("scifact", "test")
    setup = T.prepare(train, test, max_doc_len=args.max_doc_len, seed=args.seed)
    setup.val_qids = setup.val_qids[: args.val_queries]
    if args.train_queries:
        setup.train_qids = setup.train_qids[: args.train_queries]
    test_qids = sorted(setup.test_run)[: args.test_queries]
    prep = time.perf_counter() - t0
    lines = [
        f"# bench_interaction: SciFact, train {len(setup.train_qids)} queries / val {len(setup.val_qids)} / test {len(test_qids)}; "
        f"BM25 top-100 reranked; docs cut to {args.max_doc_len} WordPiece tokens; MiniLM input embeddings frozen; "
        f"{args.epochs} epochs listwise softmax CE (1 pos + 7 BM25 negatives); torch threads {args.threads}; prepare {prep:.1f} s",
        f"{'model':<14} {'params':>9} {'train_s':>8} {'rerank_s':>9} {'BM25':>7} {'model':>7} {'interp':>7} {'w':>5} {'val_model':>9}",
    ]
    print(lines[0], file=sys.stderr)
    for name in args.models:
        model = T.build_model(name, setup.embedding(freeze=True), seed=args.seed)
        lr = args.lr or (1e-2 if name in ("knrm", "conv_knrm") else 2e-3)
        info = T.fit_ranker(model, setup, epochs=args.epochs, lr=lr, seed=args.seed)
        res = T.evaluate_model(model, setup, test_qids=test_qids)
        line = (f"{name:<14} {count_parameters(model):>9,} {info['seconds']:>8.1f} {res['rerank_seconds']:>9.1f} "
                f"{res['bm25']:>7.4f} {res['model']:>7.4f} {res['interpolated']:>7.4f} {res['w']:>5.2f} {res['val_model']:>9.4f}")
        print(line, flush=True)
        lines.append(line)
    lines.append(f"# total {time.perf_counter() - t0:.0f} s. interp = z(model) + w*z(BM25), w from validation (train split); "
                 "timings are on a shared machine: compare within this file only.")
    with atomic_write(args.out) as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
