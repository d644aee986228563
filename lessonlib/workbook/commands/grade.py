"""`lessonlib grade`: execute submissions with a time limit, run the checks, write a CSV and summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lessonlib.workbook.commands._common import positive_int

NAME = "grade"
HELP = "grade exercise submissions (notebooks or folders) into a CSV plus a per-learner summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="submission notebooks or folders of them")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV to write (default grades.csv)")
    parser.add_argument("--timeout", type=positive_int, default=60,
                        help="seconds a submission may run, all its cells together (default 60)")
    parser.add_argument("--memory-mb", type=positive_int, default=3072, help="memory limit of a submission (default 3072)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases (default: a new random one per run, written to the summary)")


def run(args: argparse.Namespace) -> int:
    from lessonlib.workbook.grading import grade  # deferred: pulls in nbformat

    grades = grade(args.paths, args.out, timeout=args.timeout, memory_mb=args.memory_mb, seed=args.seed,
                   progress=sys.stderr.isatty())
    for g in grades:
        print(f"{g.learner:20s} {g.exercise:30s} {g.passed:3d}/{g.total:<3d} {g.status:16s} {g.detail[:60]}")
    print(f"wrote {args.out} ({len(grades)} submissions)", file=sys.stderr)
    return 0
