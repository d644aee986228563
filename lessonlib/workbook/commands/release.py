"""`lessonlib release DIR`: write the learner's copy of the course (no solutions) into DIR.

    lessonlib release DIR [--overwrite] [--root REPO]

See :mod:`lessonlib.workbook.release` for what the folder holds and what stays behind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "release"
HELP = "write what a learner receives (notebooks, student exercises, data, the package; no solutions) into DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="the release folder: new, empty, or one lessonlib wrote")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR if it holds a release lessonlib wrote before (never someone else's files)")
    parser.add_argument("--root", type=Path, default=None,
                        help="the instructor's repository (default: the checkout this lessonlib comes from)")


def run(args: argparse.Namespace) -> int:
    from lessonlib.workbook.release import write_release  # deferred: pulls in nbformat

    files = write_release(args.dir, root=args.root, overwrite=args.overwrite)
    count = {key: sum(name.startswith(key) for name in files) for key in ("notebooks/", "exercises/student/", "lessonlib/", "data/")}
    print(f"lessonlib release: wrote {len(files)} files to {args.dir}: {count['notebooks/']} notebooks, "
          f"{count['exercises/student/']} student exercises, the package ({count['lessonlib/']} files), "
          f"data/ ({count['data/']} files), README.md (learner sections); no exercises/source, tests or bench",
          file=sys.stderr)
    return 0
