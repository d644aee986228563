"""Key results that notebooks record, so `lessonlib workbook` can print them and each notebook
can end with a "what we measured" table.

A notebook calls ``record("BM25 nDCG@10", 0.686)``; the value is kept in memory and, when
``LESSONLIB_RESULTS`` names a JSON file (the workbook runner sets it), appended there.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from lessonlib.core.io import atomic_write

_RESULTS: dict[str, Any] = {}


def record(name: str, value: Any, note: str = "") -> Any:
    """Remember ``value`` under ``name`` (and in ``$LESSONLIB_RESULTS``); returns ``value``."""
    if isinstance(value, float):
        value = round(value, 4)
    _RESULTS[name] = {"value": value, "note": note}
    target = os.environ.get("LESSONLIB_RESULTS")
    if target:
        path = Path(target)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing[name] = _RESULTS[name]
        with atomic_write(path) as handle:
            json.dump(existing, handle, indent=1, default=str)
    return value


def duration(seconds: float) -> str:
    """A wall time as the workbook's tables show it: ``42 s`` under 90 s, else ``5.2 min``."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def results() -> dict[str, Any]:
    """Everything recorded in this process so far."""
    return dict(_RESULTS)


def table() -> str:
    """The recorded results as a Markdown table (the "what we measured" cell)."""
    from IPython.display import Markdown  # noqa: F401  (only to fail early outside Jupyter envs)

    rows = ["| measurement | value | note |", "| --- | --- | --- |"]
    rows += [f"| {name} | {entry['value']} | {entry['note']} |" for name, entry in _RESULTS.items()]
    return "\n".join(rows)


def show() -> None:
    """Display the table in a notebook."""
    from IPython.display import Markdown, display

    display(Markdown(table()))


def bench_file(name: str) -> Path:
    """A file of the repository's ``bench/results/`` (measurements the notebooks cite; the learner's release
    ships that folder too), e.g. ``bench_file("dual_cuda.txt")``."""
    return Path(__file__).resolve().parents[2] / "bench" / "results" / name


def bench_lines(name: str) -> dict[str, str]:
    """The result rows of a ``bench/bench_dual.py``-style file: row name -> its line (``<row> nDCG@10 <value> ...``;
    the last row of a name wins), ``{}`` when the file is absent. Notebooks 03 and 08 print them."""
    path = bench_file(name)
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == "nDCG@10" and not line.startswith(("#", "val")):
            rows[parts[0]] = line
    return rows


def bench_tables(name: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of a ``bench/results/`` file, in order, each as rows (column header -> cell
    text); ``[]`` when the file is absent. A block of rows with no header line of its own (no ``| --- |``
    line under its first row: a later invocation of the same bench appending rows) takes the columns of
    the last table before it with as many columns."""
    path = bench_file(name)
    if not path.exists():
        return []
    separator = lambda row: all(set(c) <= set("-: ") for c in row)  # noqa: E731
    tables, block, headers = [], [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        if block:
            earlier = [h for h in headers if len(h) == len(block[0])]
            if (len(block) > 1 and separator(block[1])) or not earlier:
                header, block = block[0], block[1:]
                headers.append(header)
            else:
                header = earlier[-1]  # the last table with as many columns
            tables.append([dict(zip(header, row)) for row in block if not separator(row)])
            block = []
    return tables


def bench_table(name: str) -> list[dict[str, str]]:
    """The first Markdown table of a ``bench/results/`` file as rows (column header -> cell text), ``[]`` when
    the file is absent; e.g. ``bench_table("cross_h200_ft_seeds.txt")`` for the per-seed re-ranking results
    that notebook 21 states, so prose shows the figures the bench wrote rather than a copy of them."""
    tables = bench_tables(name)
    return tables[0] if tables else []


def cite(name: str, row: str, column: str | None = None) -> str:
    """One figure of ``bench/results/<name>``, as the bench wrote it, for prose that states it.

    With ``column``: the cell in column ``column`` of the first row, in any of the file's Markdown tables
    (:func:`bench_tables`), whose first cell is ``row``, e.g. ``cite("cross_h100.txt", "hybrid", "CE alone")``.
    Without: the nDCG@10 value of row ``row`` of a ``bench/bench_dual.py``-style file (:func:`bench_lines`),
    e.g. ``cite("dual_cuda.txt", "best")``. A notebook renders the sentence with
    ``display(Markdown(f"... {cite(...)} ..."))``, so its prose cannot drift from the measurement.
    Raises ``LookupError`` (one line) when the file, the row or the column is missing.
    """
    if not bench_file(name).exists():
        raise LookupError(f"cite: bench/results/{name} does not exist")
    if column is None:
        line = bench_lines(name).get(row)
        if line is None:
            raise LookupError(f"cite: bench/results/{name} has no result row {row!r}")
        return line.split()[2]
    rows = [r for table in bench_tables(name) for r in table if next(iter(r.values()), None) == row]
    if not rows:
        raise LookupError(f"cite: no table of bench/results/{name} has a row {row!r}")
    hit = next((r for r in rows if column in r), None)
    if hit is None:
        raise LookupError(f"cite: no table of bench/results/{name} has a column {column!r} in row {row!r}")
    return hit[column]


def cite_match(name: str, pattern: str) -> str:
    """One figure of ``bench/results/<name>`` that no table holds: group 1 of the first line matching the regular
    expression ``pattern`` (:func:`re.search`), e.g. ``cite_match("cross_h100.txt", r"encoded \d+ docs in ([\d.]+)s")``
    -> ``"2.9"``. Raises ``LookupError`` (one line) when the file or a matching line is missing."""
    path = bench_file(name)
    if not path.exists():
        raise LookupError(f"cite_match: bench/results/{name} does not exist")
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    raise LookupError(f"cite_match: no line of bench/results/{name} matches {pattern!r}")
