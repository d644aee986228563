"""`lessonlib train-dual`: fine-tune a dual encoder on a dataset's train split.

    lessonlib train-dual --data scifact --out models/ft [--epochs 3 --lr 2e-5 --batch-size 32
                         --negatives bm25 --n-negatives 1 --loss mnrl --max-length 256 --seed 0 --fast
                         --checkpoint-dir ckpt [--resume]]

Under ``torchrun --nproc_per_node N`` it trains data-parallel (DDP; NCCL on GPUs, gloo on CPU):
every rank takes 1/N of each global batch of ``--batch-size``, in-batch negatives are gathered from
all ranks, and rank 0 alone logs and saves. See lessonlib/dual/distributed.py and the README.

The output folder loads with ``SentenceTransformer(DIR)`` and with ``DualEncoder.load(DIR)``;
``DIR/training.json`` holds the recipe and the loss curve.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lessonlib.core.config import DEFAULT_MODEL
from lessonlib.data import load_dataset
from lessonlib.dual.recipe import DUAL_LOSSES, NEGATIVES, DualRecipe
from lessonlib.workbook.commands._common import (
    add_output_folder_arguments,
    check_output_folder,
    nonnegative_int,
    positive_float,
    positive_int,
)

NAME = "train-dual"
HELP = "fine-tune a dual encoder on the train split; DIR loads with SentenceTransformer(DIR)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset name (scifact, sample) or BEIR folder")
    parser.add_argument("--split", default="train", help="split to train on (default: train)")
    add_output_folder_arguments(parser, help="output folder for the model")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"starting model (default: {DEFAULT_MODEL}); 'bilstm' or 'cnn' from scratch")
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs (default 3; 1 with --fast)")
    parser.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many optimizer steps")
    parser.add_argument("--lr", type=positive_float, default=2e-5)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--negatives", choices=NEGATIVES, default="bm25")
    parser.add_argument("--n-negatives", type=nonnegative_int, default=1)
    parser.add_argument("--skip-top", type=nonnegative_int, default=0, help="skip this many top ranks when mining negatives")
    parser.add_argument("--loss", choices=DUAL_LOSSES, default="mnrl")
    parser.add_argument("--temperature", type=positive_float, default=0.05)
    parser.add_argument("--pooling", choices=["mean", "cls", "max"], default="mean")
    parser.add_argument("--max-length", type=positive_int, default=256, help="document tokens (model and evaluation)")
    parser.add_argument("--train-max-length", type=positive_int, default=None, help="document tokens while training (default: --max-length)")
    parser.add_argument("--dropout", type=float, default=None, help="set every dropout layer to this p (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cuda | cpu (default: cuda when visible)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="keep resumable checkpoints here (once per epoch)")
    parser.add_argument("--resume", action="store_true", help="continue a killed run from the newest checkpoint in --checkpoint-dir")
    parser.add_argument("--fast", action="store_true", help="fast mode: subset and a few dozen steps")


def run(args: argparse.Namespace) -> int:
    import os

    from lessonlib.dual.train import train_dual  # deferred: pulls in torch

    if args.fast:
        os.environ["LESSONLIB_FAST"] = "1"
    check_output_folder(args)
    if args.resume and args.checkpoint_dir is None:
        raise ValueError("--resume needs --checkpoint-dir (where the interrupted run kept its checkpoints)")
    if args.resume and not any((p / "trainer_state.json").is_file() for p in Path(args.checkpoint_dir).glob("step-*")):
        raise ValueError(f"--resume: no checkpoint in {args.checkpoint_dir} (a mistyped folder?); nothing to resume")
    dataset = load_dataset(args.data, args.split)
    knobs = dict(
        model_name=args.model, loss=args.loss, negatives=args.negatives, n_negatives=args.n_negatives,
        epochs=args.epochs or 3, lr=args.lr, batch_size=args.batch_size, temperature=args.temperature,
        pooling=args.pooling, max_length=args.max_length, seed=args.seed, skip_top=args.skip_top,
        train_max_length=args.train_max_length, max_steps=args.max_steps, dropout=args.dropout,
    )  # fmt: skip
    if args.fast:
        if hasattr(dataset, "subset"):
            dataset = dataset.subset(n_docs=1500, n_queries=200, seed=args.seed)
        knobs.update({k: getattr(DualRecipe.FAST, k) for k in ("max_steps", "train_max_length", "batch_size") if knobs.get(k) in (None, 32)})
        knobs["epochs"] = args.epochs or 1
    if args.negatives == "none":
        knobs["n_negatives"] = 0
    from lessonlib.dual import distributed as D  # deferred: pulls in torch

    say = os.environ.get("RANK", "0") == "0"  # rank 0 (or no torchrun) speaks
    if say:
        print(f"lessonlib train-dual: {len(dataset.queries)} queries, {len(dataset.corpus)} documents -> {args.out}", file=sys.stderr)
    try:
        out, history, _ = train_dual(dataset, out_dir=args.out, device=args.device, checkpoint_dir=args.checkpoint_dir,
                                  resume=args.resume, **knobs)
    finally:
        if D.is_distributed():
            D.dist.barrier()
            D.dist.destroy_process_group()
    done = history[-1]
    losses = [h["loss"] for h in history if "loss" in h]
    if say:
        mem = f"; peak GPU memory {done['peak_memory_mib']:.0f} MiB per rank" if done.get("peak_memory_mib") else ""
        print(f"lessonlib train-dual: {done['steps']} steps in {done['seconds']:.0f}s ({done['train_seconds']:.1f}s in the "
              f"training loop) on {done['world_size']} x {done['device']}{mem}; loss {losses[0]:.4f} -> {losses[-1]:.4f}; "
              f"saved {out}", file=sys.stderr)  # fmt: skip
    return 0
