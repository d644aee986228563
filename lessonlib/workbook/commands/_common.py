"""What the sub-commands share: argument types checked at parse time (k >= 1, finite positive rates),
the output folder of the training commands (never someone else's files), and for the cross-encoder
commands (``rerank``, ``train-cross``) their common arguments, fast mode (the first
:data:`FAST_QUERIES` queries) and loading the model the arguments name.

Not a sub-command itself (``lessonlib.workbook.cli`` lists those by name).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lessonlib.core import config
from lessonlib.core.io import check_replaceable

FAST_QUERIES = 20  # queries kept in fast mode (--fast or LESSONLIB_FAST=1)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be an integer >= 1")
    return value


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be an integer >= 0")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (a learning rate, a temperature)."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number > 0")
    return value


def add_output_folder_arguments(parser: argparse.ArgumentParser, help: str) -> None:
    """``--out`` (a model folder) and ``--overwrite`` (replace a folder lessonlib wrote before)."""
    parser.add_argument("--out", required=True, type=Path, help=help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it holds a model lessonlib saved before (never someone else's files)")


def check_output_folder(args: argparse.Namespace) -> None:
    """Before any work: ``--out`` is new, empty, or (with ``--overwrite``) a folder lessonlib wrote."""
    check_replaceable(args.out, overwrite=args.overwrite)


def add_data_arguments(parser: argparse.ArgumentParser, split: str) -> None:
    """``--data`` (required) and ``--split`` (default ``split``): what ``load_dataset`` takes."""
    parser.add_argument("--data", required=True, help="dataset name or BEIR folder (what load_dataset takes)")
    parser.add_argument("--split", default=split)


def add_cross_encoder_arguments(parser: argparse.ArgumentParser, fast_help: str) -> None:
    """``--max-length`` (256), ``--device`` (auto) and ``--fast`` (help text ``fast_help``)."""
    parser.add_argument("--max-length", type=positive_int, default=256)
    parser.add_argument("--device", default=None)
    parser.add_argument("--fast", action="store_true", help=fast_help)


def fast_requested(args: argparse.Namespace) -> bool:
    """``--fast`` or ``LESSONLIB_FAST=1``."""
    return bool(args.fast or config.is_fast())


def first_queries(items: Mapping[str, Any], fast: bool) -> dict[str, Any]:
    """The first :data:`FAST_QUERIES` entries of ``items`` (queries or a run) in fast mode, else all."""
    return dict(list(items.items())[:FAST_QUERIES]) if fast else dict(items)


def load_cross_encoder(args: argparse.Namespace, model: str):
    """The :class:`lessonlib.cross.CrossEncoder` ``model`` with ``--max-length`` and ``--device``."""
    from lessonlib.cross import CrossEncoder  # deferred: pulls in torch

    return CrossEncoder.load(model, max_length=args.max_length, device=args.device)
