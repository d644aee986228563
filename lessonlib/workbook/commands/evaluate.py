"""`lessonlib evaluate`: score a TREC run file against a dataset's qrels (trec_eval's definitions)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lessonlib.data import load_dataset, read_run
from lessonlib.evaluation.metrics import evaluate, parse_measure

NAME = "evaluate"
HELP = "score a TREC run file against a dataset's qrels (nDCG@10, MAP, MRR, recall, ...)"
DEFAULT_MEASURES = ["ndcg@10", "map", "mrr", "p@10", "recall@10", "recall@100", "success@10", "r_precision"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset name ('scifact', 'sample') or a BEIR folder")
    parser.add_argument("--split", default="test", help="qrels split (default: test)")
    parser.add_argument("--run", required=True, type=Path, help="TREC run file (qid Q0 docid rank score tag)")
    parser.add_argument(
        "--measures", nargs="+", default=DEFAULT_MEASURES, metavar="M",
        help=f"measure names (default: {' '.join(DEFAULT_MEASURES)})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--per-query", action="store_true", help="also report each query's values")
    parser.add_argument(
        "--missing", choices=("skip", "zero"), default="skip",
        help="queries of the qrels absent from the run: skip them (pytrec_eval, default) or count 0 (trec_eval -c)",
    )


def run(args: argparse.Namespace) -> int:
    measures = [parse_measure(m).name for m in args.measures]  # bad names fail before loading data
    if not args.run.is_file():
        raise FileNotFoundError(f"--run {args.run}: no such file")
    run_ = read_run(args.run)
    if not run_:
        raise ValueError(f"--run {args.run}: the run file is empty")
    dataset = load_dataset(args.data, args.split)
    overlap = sum(1 for q in run_ if q in dataset.qrels)
    print(
        f"[evaluate] {args.run}: {len(run_)} queries, {overlap} of them judged in "
        f"{dataset.name}/{args.split} ({len(dataset.qrels)} judged queries)",
        file=sys.stderr,
    )
    means = evaluate(dataset.qrels, run_, measures, missing=args.missing)
    per_query = evaluate(dataset.qrels, run_, measures, per_query=True, missing=args.missing) if args.per_query else None
    if args.json:
        out = {"run": str(args.run), "data": dataset.name, "split": args.split, "queries": overlap, "measures": means}
        if per_query is not None:
            out["per_query"] = per_query
        print(json.dumps(out, indent=1))
        return 0
    if per_query is not None:
        print("qid\t" + "\t".join(measures))
        for qid, values in per_query.items():
            print(qid + "\t" + "\t".join(f"{values[m]:.4f}" for m in measures))
        print()
    width = max(len(m) for m in measures)
    for m in measures:
        print(f"{m:<{width}}  {means[m]:.4f}")
    return 0
