"""`lessonlib book`: render the course (README, notebooks, exercise statements) into a static HTML site.

    lessonlib book [--out DIR] [--from BUILD] [--slides [REVEAL]] [--root REPO]

See :mod:`lessonlib.workbook.book` for what the site holds and why it is built with nbconvert.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lessonlib.workbook.html import REVEAL_CDN

NAME = "book"
HELP = "render the README, the notebooks and the exercise statements into an offline HTML site (default build/book)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("build") / "book",
                        help="the site's folder: new, empty, or a book lessonlib wrote (default: build/book)")
    parser.add_argument("--from", dest="executed", type=Path, default=None, metavar="BUILD",
                        help="take each notebook from this folder of executed copies when it is there "
                             "(lessonlib workbook's build/); default: notebooks/ as stored, with their recorded outputs")
    parser.add_argument("--slides", nargs="?", const=REVEAL_CDN, default=None, metavar="REVEAL",
                        help="also write each notebook as a reveal.js slide deck into slides/, cut at its headings; "
                             "reveal.js loads from REVEAL, a URL or a local reveal.js 4 folder (default: nbconvert's CDN)")
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder (default: the current folder when it is one, else this lessonlib's checkout)")


def run(args: argparse.Namespace) -> int:
    from lessonlib.workbook.book import build_book  # deferred: pulls in nbconvert
    from lessonlib.workbook.release import is_course  # deferred: as above

    root = args.root
    if root is None and is_course(Path.cwd()):
        root = Path.cwd()  # run inside a course folder (a learner's release, say): build that one
    report = build_book(args.out, root=root, executed=args.executed, slides=args.slides)
    notebooks = sum(p.source.startswith("notebooks/") for p in report.pages)
    exercises = sum(p.source.startswith("exercises/student/") for p in report.pages)
    print(f"lessonlib book: {len(report.pages)} pages ({notebooks} notebooks, {exercises} exercises, the READMEs) "
          f"and {len(report.copied)} linked files in {report.out}, {report.bytes / 2**20:.1f} MiB, "
          f"{report.seconds:.0f} s; open {report.out / 'index.html'}", file=sys.stderr)
    if report.without_outputs:
        print(f"  {len(report.without_outputs)} notebooks have no outputs stored (e.g. {report.without_outputs[0]}); "
              "`lessonlib book --from build` takes them from a `lessonlib workbook` run", file=sys.stderr)
    for link in report.broken_links[:5]:
        print(f"  link to nothing: {link}", file=sys.stderr)
    return 0
