"""What the cross-encoder sub-commands (``rerank``, ``train-cross``) share: their common arguments,
fast mode (the first :data:`FAST_QUERIES` queries) and loading the model the arguments name.

Not a sub-command itself (``lessonlib.workbook.cli`` lists those by name).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from lessonlib.core import config

FAST_QUERIES = 20  # queries kept in fast mode (--fast or LESSONLIB_FAST=1)


def add_data_arguments(parser: argparse.ArgumentParser, split: str) -> None:
    """``--data`` (required) and ``--split`` (default ``split``): what ``load_dataset`` takes."""
    parser.add_argument("--data", required=True, help="dataset name or BEIR folder (what load_dataset takes)")
    parser.add_argument("--split", default=split)


def add_cross_encoder_arguments(parser: argparse.ArgumentParser, fast_help: str) -> None:
    """``--max-length`` (256), ``--device`` (auto) and ``--fast`` (help text ``fast_help``)."""
    parser.add_argument("--max-length", type=int, default=256)
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
