"""`lessonlib book` against plain `jupyter nbconvert --to html`, side by side in one run: time and size.

The book renders the README, the notebooks and the exercise statements with one shared style sheet,
MathJax copied once and a search index; nbconvert's ``lab`` template inlines JupyterLab's style sheets
into every page and loads MathJax from a CDN. Both render the same notebooks as stored (``notebooks/``,
or ``--from`` a folder of executed copies); the nbconvert run renders only the notebooks and the
exercise statements, so its pages are a subset of the book's.

    python bench/bench_book.py [--from build]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="executed", type=Path, default=None, help="folder of executed notebooks")
    args = parser.parse_args(argv)

    from lessonlib.workbook.book import build_book

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        report = build_book(out / "book", root=ROOT, executed=args.executed)
        book_s = time.perf_counter() - start
        notebooks = [args.executed / p.name if args.executed and (args.executed / p.name).is_file() else p
                     for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]  # what the book renders
        sources = notebooks + sorted((ROOT / "exercises" / "student").glob("*.ipynb"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir",
                        str(out / "nbconvert"), *map(str, sources)], check=True, capture_output=True)
        plain_s = time.perf_counter() - start
        static = out / "book" / "_static"
        parts = {"pages": _size(out / "book") - _size(static), "MathJax": _size(static / "mathjax"),
                 "search index": (static / "search_index.js").stat().st_size,
                 "shared style sheets": (static / "notebook.css").stat().st_size + (static / "book.css").stat().st_size}
        book_bytes, plain_bytes = report.bytes, _size(out / "nbconvert")

    mib = 2 ** 20
    print(f"lessonlib book vs jupyter nbconvert --to html; {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores; {time.strftime('%Y-%m-%d')}")
    print(f"notebooks from: {args.executed or 'notebooks/ as stored'} "
          f"({len(report.without_outputs)} of {len(notebooks)} without outputs)\n")
    print("| | pages | time | size | MathJax |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| lessonlib book | {len(report.pages)} | {book_s:.1f} s | {book_bytes / mib:.1f} MiB | local copy |")
    print(f"| nbconvert --to html (lab template) | {len(sources)} | {plain_s:.1f} s | {plain_bytes / mib:.1f} MiB | CDN |")
    print(f"\nratios, book / nbconvert: time {book_s / plain_s:.2f}x, size {book_bytes / plain_bytes:.2f}x "
          f"(the book has {len(report.pages) - len(sources)} more pages, a sidebar and a search index)")
    print("book size by part: " + ", ".join(f"{name} {value / mib:.2f} MiB" for name, value in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
