"""``lessonlib rerank``: re-score the top k of a run with a cross-encoder."""

from __future__ import annotations

import argparse
import sys

from lessonlib.workbook.commands._common import (
    add_cross_encoder_arguments,
    add_data_arguments,
    first_queries,
    fast_requested,
    load_cross_encoder,
    positive_int,
)
from lessonlib.data import load_dataset, read_run, write_run
from lessonlib.retrieval.rerank import interpolate_first_stage, rerank

NAME = "rerank"
HELP = "cross-encoder re-ranking of a run (TREC run file in, TREC run file out)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, split="test")
    parser.add_argument("--run", required=True, help="TREC run file of the first stage")
    parser.add_argument("--model", required=True, help="cross-encoder folder (lessonlib train-cross) or model id")
    parser.add_argument("--k", type=positive_int, default=100, help="re-rank the top k of each query")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--alpha", type=float, default=None,
                        help="interpolate: zscore(CE) + alpha * zscore(first stage) (default: CE alone)")
    parser.add_argument("--out", required=True, help="output TREC run file")
    add_cross_encoder_arguments(parser, fast_help="fast mode (only the first 20 queries)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if not Path(args.run).exists():
        raise FileNotFoundError(f"rerank --run {args.run}: no such file")
    ds = load_dataset(args.data, args.split)
    first = first_queries(read_run(args.run), fast_requested(args))
    model = load_cross_encoder(args, args.model)
    out = rerank(model, ds, first, k=args.k, batch_size=args.batch_size, show_progress=sys.stderr.isatty())
    if args.alpha is not None:
        out = interpolate_first_stage(out, first, args.alpha)
    write_run(out, args.out, tag="lessonlib-rerank")
    print(f"re-ranked {len(out)} queries (top {args.k}) -> {args.out}", file=sys.stderr)
    return 0
