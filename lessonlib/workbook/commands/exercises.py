"""`lessonlib exercises build|list`: generate student and instructor notebooks from the sources."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "exercises"
HELP = "build the student and instructor exercise notebooks from exercises/source, or list them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["build", "list"])
    parser.add_argument("--source", type=Path, default=Path("exercises/source"), help="folder of ex*.py sources")
    parser.add_argument("--out", type=Path, default=Path("exercises"), help="writes OUT/student and OUT/instructor")
    parser.add_argument("--only", choices=["student", "instructor"], help="build one version only")


def run(args: argparse.Namespace) -> int:
    from lessonlib.workbook import exercises  # deferred: pulls in nbformat

    if args.action == "list":
        for path in exercises.sources(args.source):
            src = exercises.parse(path)
            print(f"{src.name:45s} {src.exercise:30s} {src.practises}")
        return 0
    versions = (args.only,) if args.only else ("student", "instructor")
    written = exercises.build_notebooks(args.source, args.out, versions)
    print(f"wrote {len(written)} notebooks under {args.out}", file=sys.stderr)
    return 0
