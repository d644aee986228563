"""Build a small BEIR collection from this machine's Debian package database: a collection the
workbook was never written for (`lessonlib workbook --data DIR`).

Each installed package (``/var/lib/dpkg/status``) with a long description becomes one document
(id = package name, title empty, text = the long description); its one-line synopsis becomes
the query, judged relevant (grade 1) to that package only. There is no train split: the
workbook carves one from the test queries (``lessonlib.data.carve_train_split``).

    python data/collections/debian_packages.py /tmp/debian   # then: lessonlib workbook --data /tmp/debian
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def read_status(path: Path) -> list[dict[str, str]]:
    """Packages of a dpkg status file: ``{"name", "synopsis", "description"}``, in file order."""
    packages, current, field = [], {}, None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines() + [""]:
        if not line.strip():
            if current.get("Package") and current.get("Description"):
                synopsis, _, rest = current["Description"].partition("\n")
                long = " ".join(p.strip() for p in rest.splitlines() if p.strip() not in {".", ""})
                packages.append({"name": current["Package"], "synopsis": synopsis.strip(), "description": long})
            current, field = {}, None
        elif line[0] in " \t" and field:
            current[field] += "\n" + line.strip()
        elif ":" in line:
            field, _, value = line.partition(":")
            current[field] = value.strip()
    return packages


def build(out: Path, status: Path, min_words: int = 8) -> int:
    """Write corpus.jsonl, queries.jsonl and qrels/test.tsv under ``out``; returns the number of queries."""
    packages = [p for p in read_status(status) if len(p["description"].split()) >= min_words and p["synopsis"]]
    if not packages:
        raise SystemExit(f"{status}: no package with a long description")
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as corpus, open(out / "queries.jsonl", "w", encoding="utf-8") as queries:
        for i, p in enumerate(packages):
            corpus.write(json.dumps({"_id": p["name"], "title": "", "text": p["description"]}) + "\n")
            queries.write(json.dumps({"_id": f"syn{i:04d}", "text": p["synopsis"]}) + "\n")
    with open(out / "qrels" / "test.tsv", "w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        qrels.writelines(f"syn{i:04d}\t{p['name']}\t1\n" for i, p in enumerate(packages))
    return len(packages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (BEIR layout)")
    parser.add_argument("--status", type=Path, default=Path("/var/lib/dpkg/status"))
    args = parser.parse_args(argv)
    n = build(args.out, args.status)
    print(f"{args.out}: {n} packages (documents) and their synopses (queries), test split only", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
