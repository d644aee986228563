"""``lessonlib rerank``: re-score the top k of a run with a cross-encoder."""

from __future__ import annotations

import argparse
import sys

NAME = "rerank"
HELP = "cross-encoder re-ranking of a run (TREC run file in, TREC run file out)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset name or BEIR folder (what load_dataset takes)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--run", required=True, help="TREC run file of the first stage")
    parser.add_argument("--model", required=True, help="cross-encoder folder (lessonlib train-cross) or model id")
    parser.add_argument("--k", type=int, default=100, help="re-rank the top k of each query")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--alpha", type=float, default=None,
                        help="interpolate: zscore(CE) + alpha * zscore(first stage) (default: CE alone)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", required=True, help="output TREC run file")
    parser.add_argument("--fast", action="store_true", help="fast mode (only the first 20 queries)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lessonlib import config
    from lessonlib.cross import CrossEncoder
    from lessonlib.data import load_dataset, read_run, write_run
    from lessonlib.rerank import interpolate, rerank

    if args.k < 1:
        raise ValueError(f"rerank --k {args.k}: k must be >= 1")
    if not Path(args.run).exists():
        raise FileNotFoundError(f"rerank --run {args.run}: no such file")
    ds = load_dataset(args.data, args.split)
    first = read_run(args.run)
    if args.fast or config.is_fast():
        first = dict(list(first.items())[:20])
    model = CrossEncoder(args.model, max_length=args.max_length, device=args.device)
    out = rerank(model, ds, first, k=args.k, batch_size=args.batch_size, show_progress=sys.stderr.isatty())
    if args.alpha is not None:
        out = interpolate(out, first, args.alpha)
    write_run(out, args.out, tag="lessonlib-rerank")
    print(f"re-ranked {len(out)} queries (top {args.k}) -> {args.out}", file=sys.stderr)
    return 0
