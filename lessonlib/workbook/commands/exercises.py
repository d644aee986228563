"""`lessonlib exercises build|list|links|export`: generate student and instructor notebooks from the sources,
list them, link them from the lesson notebooks' last cells, or export them as an nbgrader course (``export --format nbgrader DIR``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lessonlib.workbook.commands._common import positive_int

NAME = "exercises"
HELP = "build the student and instructor exercise notebooks from exercises/source, list them, or export them for nbgrader"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--source", type=Path, default=Path("exercises/source"), help="folder of ex*.py sources")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", parents=[common], help="write the student and instructor notebooks")
    build.add_argument("--out", type=Path, default=Path("exercises"), help="writes OUT/student and OUT/instructor")
    build.add_argument("--only", choices=["student", "instructor"], help="build one version only")
    actions.add_parser("list", parents=[common], help="source, check id, what it practises")
    links = actions.add_parser("links", parents=[common],
                               help="rewrite each lesson notebook's last cell: its exercises and the next notebook")
    links.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="the lesson notebooks (default: notebooks/)")
    links.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook's cell is out of date")
    export = actions.add_parser("export", parents=[common], help="write the exercises as an nbgrader course into DIR")
    export.add_argument("dir", type=Path, metavar="DIR", help="the course folder (DIR/source/ASSIGNMENT, DIR/nbgrader_config.py)")
    export.add_argument("--format", choices=["nbgrader"], default="nbgrader", help="the layout: nbgrader's source/ (default)")
    export.add_argument("--assignment", default="neural_retrieval",
                        help="the nbgrader assignment holding one notebook per exercise (default: neural_retrieval)")
    export.add_argument("--points", type=positive_int, default=1, help="points of each exercise's test cell (default: 1)")
    export.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden test cases (default: a random one, kept in the source notebooks)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace DIR/source/ASSIGNMENT if lessonlib wrote it (nothing else in DIR is touched)")


def run(args: argparse.Namespace) -> int:
    from lessonlib.workbook import exercises  # deferred: pulls in nbformat

    if args.action == "list":
        for path in exercises.sources(args.source):
            src = exercises.parse(path)
            print(f"{src.name:45s} {src.exercise:30s} {src.practises}")
        return 0
    if args.action == "links":
        from lessonlib.workbook.links import refresh  # deferred: pulls in nbformat

        changed = refresh(args.notebooks, args.source, check=args.check)
        verb = "out of date" if args.check else "rewritten"
        print(f"lessonlib exercises links: {len(changed)} notebooks {verb}"
              + (f": {', '.join(p.name for p in changed)}" if changed else ""), file=sys.stderr)
        return 1 if (args.check and changed) else 0
    if args.action == "export":
        from lessonlib.workbook.nbgrader import export_nbgrader  # deferred: pulls in nbformat

        written = export_nbgrader(args.source, args.dir, assignment=args.assignment, points=args.points,
                                  seed=args.seed, overwrite=args.overwrite)
        print(f"lessonlib exercises: wrote {len(written)} nbgrader source notebooks to {written[0].parent}; next, in "
              f"{args.dir}: nbgrader generate_assignment {args.assignment}", file=sys.stderr)
        return 0
    versions = (args.only,) if args.only else ("student", "instructor")
    written = exercises.build_notebooks(args.source, args.out, versions)
    print(f"wrote {len(written)} notebooks under {args.out}", file=sys.stderr)
    return 0
