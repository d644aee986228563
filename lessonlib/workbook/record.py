"""Notebooks stored with their results: the stamp of a recorded run and the "expected results" box.

``lessonlib workbook --record`` executes each notebook and writes it back in place (issue 28, items 1
and 4). A full-mode run stores its outputs; a fast-mode run stores only its figures and wall time, so
the notebook keeps the full-mode outputs while the box can say what fast mode shows. Each run is kept
in the notebook's metadata under ``lessonlib.runs``, keyed ``"<mode>-<cpu|gpu>"``::

    {"mode": "full", "device": "Intel Xeon ..., 2 cores", "dataset": "scifact: ...", "commit": "1b7d9d4",
     "date": "2026-12-08T01:10:00+00:00", "wall_s": 312.4, "results": {"BM25 nDCG@10": 0.686, ...}}

and ``lessonlib.outputs`` names the run the stored outputs come from. :func:`expected_results` renders
the runs as the Markdown box placed after the notebook's first cell (a generated cell, like the "Where
next" cell of :mod:`lessonlib.workbook.links`): the run time of each mode on each kind of device
recorded, then each figure the notebook records (:func:`lessonlib.workbook.report.record`) in full and
fast mode. :func:`recorded_problems` is what the repository's test asks of every stored notebook.
"""
from __future__ import annotations

import base64
import copy
from typing import Any

import nbformat

from lessonlib.workbook.nbmeta import stray_values
from lessonlib.workbook.report import duration

MARK = "expected-results"
MAX_IMAGE_BYTES = 250_000  # one stored figure; a modest resolution keeps 25 notebooks to a few MB
MAX_ROWS = 40  # figures the box lists; the rest are in the notebook's own "what we measured" table


def run_key(mode: str, device: str) -> str:
    """``full-gpu`` when the device names a GPU, else ``full-cpu`` (``mode`` is ``full`` or ``fast``)."""
    if mode not in ("full", "fast"):
        raise ValueError(f"mode {mode!r}: expected 'full' or 'fast'")
    return f"{mode}-{'gpu' if 'GPU' in device else 'cpu'}"


def runs(nb: Any) -> dict[str, dict[str, Any]]:
    """The recorded runs of ``nb`` by :func:`run_key` (empty when it was never recorded)."""
    return dict(nb.metadata.get("lessonlib", {}).get("runs", {}))


def record_run(stored: Any, executed: Any | None, run: dict[str, Any]) -> Any:
    """``stored`` with ``run`` kept in its metadata; a full-mode run also replaces its cells by ``executed``'s
    (the same notebook with outputs). Other runs recorded before (another device, the other mode) are kept,
    and the "expected results" box is refreshed. Returns a new notebook; ``stored`` is not changed."""
    key = run_key(run["mode"], run["device"])
    result = copy.deepcopy(stored)
    if run["mode"] == "full":
        if executed is None:
            raise ValueError("a full-mode run stores its outputs: pass the executed notebook")
        if [c.source for c in executed.cells if not _is_box(c)] != [c.source for c in stored.cells if not _is_box(c)]:
            raise ValueError("the executed notebook's cells differ from the stored notebook's; run it again")
        result.cells = copy.deepcopy(executed.cells)
        for cell in result.cells:
            cell.get("metadata", {}).pop("execution", None)  # per-cell timestamps: noise in every diff
    meta = result.metadata.setdefault("lessonlib", {})
    meta.setdefault("runs", {})[key] = dict(run)
    if run["mode"] == "full":
        meta["outputs"] = key
    return refresh_box(result)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def expected_results(nb: Any) -> str | None:
    """The Markdown of the "expected results" box of ``nb``, or None before any run was recorded."""
    recorded = runs(nb)
    if not recorded:
        return None
    lines = ["**Expected results.** Recorded runs of this notebook with `lessonlib workbook --record`; "
             "your figures differ a little with the hardware and, in fast mode, with the subset.", "",
             "| run time | full mode | fast mode |", "| --- | --- | --- |"]
    for kind, label in (("cpu", "CPU"), ("gpu", "GPU")):
        cells = [recorded.get(f"{mode}-{kind}") for mode in ("full", "fast")]
        if any(cells):
            where = next(r["device"] for r in cells if r)
            lines.append(f"| {label}: {_fmt(where)} | "
                         + " | ".join(duration(r["wall_s"]) if r else "not recorded" for r in cells) + " |")
    for kind in ("cpu", "gpu"):
        full, fast = recorded.get(f"full-{kind}"), recorded.get(f"fast-{kind}")
        if not (full or fast):
            continue
        names = list((full or {}).get("results", {})) + [n for n in (fast or {}).get("results", {})
                                                          if n not in (full or {}).get("results", {})]
        if not names:
            continue
        lines += ["", f"| figure ({'GPU' if kind == 'gpu' else 'CPU'}) | full mode | fast mode |", "| --- | --- | --- |"]
        for name in names[:MAX_ROWS]:
            cells = [_fmt(r["results"][name]) if r and name in r.get("results", {}) else "–" for r in (full, fast)]
            lines.append(f"| {_fmt(name)} | {cells[0]} | {cells[1]} |")
        if len(names) > MAX_ROWS:
            lines.append(f"| … {len(names) - MAX_ROWS} more in the notebook's own table | | |")
    source = nb.metadata.get("lessonlib", {}).get("outputs")
    if source in recorded:
        run = recorded[source]
        lines += ["", f"The outputs below are from the {run['mode']}-mode run on {run['dataset']}, {run['device']}, "
                      f"lessonlib {run['commit']}, {run['date'][:10]}."]
    else:
        lines += ["", "No full-mode outputs are stored yet: run the notebook, or `lessonlib workbook --record`."]
    return "\n".join(lines)


def _is_box(cell: Any) -> bool:
    return cell.cell_type == "markdown" and cell.get("metadata", {}).get("lessonlib", {}).get("generated") == MARK


def refresh_box(nb: Any) -> Any:
    """Put the box :func:`expected_results` renders after ``nb``'s first cell (replacing an older one); in place."""
    text = expected_results(nb)
    cells = [c for c in nb.cells if not _is_box(c)]
    if text is not None:
        box = nbformat.v4.new_markdown_cell(text)
        box.metadata["lessonlib"] = {"generated": MARK}
        cells.insert(min(1, len(cells)), box)
    nb.cells = cells
    return nb


def recorded_problems(nb: Any) -> list[str]:
    """What keeps ``nb`` from being a stored, recorded notebook: no full-mode run recorded, outputs missing
    or from elsewhere, an error output, a stray ``<matplotlib…>`` value, an oversized image, or a box
    that differs from what the runs render."""
    problems = []
    recorded = runs(nb)
    source = nb.metadata.get("lessonlib", {}).get("outputs")
    if not any(key.startswith("full-") for key in recorded) or source not in recorded:
        problems.append("no full-mode run recorded (lessonlib workbook --record)")
    boxes = [c for c in nb.cells if _is_box(c)]
    if len(boxes) != 1 or boxes[0].source != expected_results(nb):
        problems.append("the expected-results box is missing or stale (lessonlib workbook --record refreshes it)")
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None and cell.source.strip():
            problems.append(f"cell {number} was not run")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {number} holds an error: {out.get('ename')}: {str(out.get('evalue'))[:80]}")
            for mime in ("image/png", "image/jpeg"):
                data = out.get("data", {}).get(mime)
                if data and len(base64.b64decode(data if isinstance(data, str) else "".join(data))) > MAX_IMAGE_BYTES:
                    problems.append(f"cell {number} holds a {mime} over {MAX_IMAGE_BYTES // 1000} kB")
        problems += [f"cell {number} shows a stray value {text!r}" for text in stray_values(cell.get("outputs", []))]
    return problems
