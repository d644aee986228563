"""`lessonlib retrieve`: first-stage retrieval (BM25, dense or their RRF hybrid) into a TREC run file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lessonlib.core import config
from lessonlib.workbook.commands._common import positive_int
from lessonlib.data import load_dataset, write_run
from lessonlib.dual.encode import dense_run
from lessonlib.retrieval.fusion import hybrid

NAME = "retrieve"
HELP = "first-stage retrieval (bm25, dense or hybrid) of a dataset's queries into a TREC run file"
METHODS = ("bm25", "dense", "hybrid")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset name ('scifact', 'sample') or a BEIR folder")
    parser.add_argument("--split", default="test", help="qrels split whose queries are searched (default: test)")
    parser.add_argument("--method", required=True, choices=METHODS, help="bm25, dense, or hybrid = RRF(bm25, dense)")
    parser.add_argument("--model", default=None, help="dense model: name or folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--k", type=positive_int, default=100, help="documents per query (default: 100; at most the corpus size)")
    parser.add_argument("--out", required=True, type=Path, help="the TREC run file to write")
    parser.add_argument("--k1", type=float, default=1.5, help="BM25 k1 (default: 1.5)")
    parser.add_argument("--b", type=float, default=0.75, help="BM25 b (default: 0.75)")


def _log(message: str) -> None:
    print(f"[retrieve] {message}", file=sys.stderr, flush=True)


def retrieve(dataset, method: str, k: int = 100, model: str | None = None, k1: float = 1.5, b: float = 0.75) -> dict:
    """The run of ``method`` on ``dataset`` (what the command writes)."""
    if method not in METHODS:
        raise ValueError(f"retrieve(method={method!r}): expected one of {', '.join(METHODS)}")
    if k < 1:
        raise ValueError(f"retrieve(k={k}): k must be >= 1")
    runs = {}
    if method in ("bm25", "hybrid"):
        from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

        start = time.perf_counter()
        runs["bm25"] = BM25(k1=k1, b=b).retrieve(dataset, k=k)
        _log(f"bm25: {len(dataset.queries)} queries over {len(dataset.corpus)} documents in {time.perf_counter() - start:.1f} s")
    if method in ("dense", "hybrid"):

        start = time.perf_counter()
        runs["dense"] = dense_run(dataset, model or config.DEFAULT_MODEL, k)
        _log(f"dense: {len(dataset.queries)} queries in {time.perf_counter() - start:.1f} s")
    if method == "hybrid":

        return hybrid(runs["bm25"], runs["dense"], depth=k)
    return runs[method]


def run(args: argparse.Namespace) -> int:
    if args.model and args.method == "bm25":
        raise ValueError("--model is for --method dense or hybrid, not bm25")
    dataset = load_dataset(args.data, args.split)
    _log(dataset.describe() if hasattr(dataset, "describe") else f"{dataset.name}/{args.split}")
    if args.k > len(dataset.corpus):
        _log(f"--k {args.k} is more than the {len(dataset.corpus)} documents: every document is ranked (k = {len(dataset.corpus)})")
        args.k = len(dataset.corpus)
    result = retrieve(dataset, args.method, args.k, args.model, args.k1, args.b)
    write_run(result, args.out, tag=f"lessonlib-{args.method}", k=args.k)
    _log(f"wrote {sum(len(d) for d in result.values())} lines for {len(result)} queries to {args.out}")
    return 0
