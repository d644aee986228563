"""``lessonlib train-cross``: train a cross-encoder (monoBERT) on a dataset's train split."""

from __future__ import annotations

import argparse
import sys

from lessonlib.core import config
from lessonlib.workbook.commands._common import (
    add_cross_encoder_arguments,
    add_output_folder_arguments,
    check_output_folder,
    add_data_arguments,
    first_queries,
    fast_requested,
    load_cross_encoder,
    positive_float,
    positive_int,
)
from lessonlib.data import load_dataset

NAME = "train-cross"
HELP = "train a cross-encoder on the train split; DIR loads with AutoModelForSequenceClassification"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, split="train")
    add_output_folder_arguments(parser, help="output folder (safetensors + tokenizer)")
    parser.add_argument("--model", default=None, help="backbone (default: all-MiniLM-L6-v2)")
    parser.add_argument("--loss", default="softmax_ce", help="softmax_ce, bce, ranknet, hinge, listnet, listmle, lambda")
    parser.add_argument("--epochs", type=positive_int, default=2)
    parser.add_argument("--batch-size", type=positive_int, default=8, help="groups (1 positive + n negatives) per step")
    parser.add_argument("--negatives", type=positive_int, default=7)
    parser.add_argument("--neg-depth", type=positive_int, default=30, help="negatives come from the BM25 top-N")
    parser.add_argument("--lr", type=positive_float, default=3e-5)
    parser.add_argument("--weak", action="store_true", help="first one epoch of title -> abstract weak supervision")
    parser.add_argument("--max-steps", type=positive_int, default=None)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    add_cross_encoder_arguments(parser, fast_help="fast mode: 20 queries, 5 steps")


def run(args: argparse.Namespace) -> int:
    from lessonlib.cross.data import bm25_run, groups_from_run, weak_title_groups  # deferred: pulls in torch
    from lessonlib.losses.ranking import get_loss  # deferred: pulls in torch
    from lessonlib.cross.train import train_cross_encoder  # deferred: pulls in torch

    get_loss(args.loss)  # fail early on a bad name
    check_output_folder(args)
    fast = fast_requested(args)
    ds = load_dataset(args.data, args.split)
    queries = first_queries(ds.queries, fast)
    if fast:
        args.max_steps = args.max_steps or 5
    config.seed_everything(args.seed)
    run_ = bm25_run(ds, queries, k=args.neg_depth)
    groups = groups_from_run(ds, run_, n_negatives=args.negatives, depth=args.neg_depth, seed=args.seed,
                             queries=queries, qrels={q: ds.qrels[q] for q in queries if q in ds.qrels})
    if not groups:
        raise ValueError(f"train-cross --data {args.data} --split {args.split}: no query has a relevant document")
    model = load_cross_encoder(args, args.model or config.DEFAULT_MODEL)
    progress = sys.stderr.isatty()
    if args.weak and not fast:
        train_cross_encoder(model, weak_title_groups(ds, n_negatives=args.negatives, seed=args.seed), epochs=1,
                            batch_size=args.batch_size, lr=args.lr, seed=args.seed, progress=progress)
    hist = train_cross_encoder(model, groups, loss=args.loss, epochs=args.epochs, batch_size=args.batch_size,
                               lr=args.lr, max_steps=args.max_steps, label_smoothing=args.label_smoothing,
                               seed=args.seed, progress=progress)
    model.save(args.out)  # replaces --out only if check_output_folder allowed it
    last = [h["loss"] for h in hist if "loss" in h][-1]
    print(f"trained on {len(groups)} groups, {len([h for h in hist if 'loss' in h])} steps, "
          f"last loss {last:.4f} -> {args.out}", file=sys.stderr)
    return 0
