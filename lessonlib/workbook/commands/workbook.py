"""`lessonlib workbook`: execute the notebooks in order into build/ and print their key results.

Each notebook runs on a fresh kernel (nbclient) in the notebooks folder; the executed copy is
written to ``build/<name>.ipynb`` and rendered to ``build/<name>.html`` (offline: :mod:`lessonlib.workbook.html`). Notebooks record their key
results through :func:`lessonlib.workbook.report.record`, which the runner collects from
``build/results/<name>.json`` and prints as a table.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lessonlib.core.config import is_fast
from lessonlib.data import course_dataset
from lessonlib.core.io import atomic_write
from lessonlib.workbook.html import export_html
from lessonlib.workbook.report import duration

NAME = "workbook"
HELP = "execute the notebooks into build/ (executed .ipynb and HTML) and print each one's key results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fast", action="store_true", help="fast mode (LESSONLIB_FAST=1): subsets, short training")
    parser.add_argument("--only", metavar="PATTERN", help="glob on notebook names, e.g. '0[0-4]*' or '*kernel*'")
    parser.add_argument("--notebooks", type=Path, default=None, help="folder of notebooks (default: the repository's notebooks/)")
    parser.add_argument("--out", type=Path, default=Path("build"), help="output folder (default: build/)")
    parser.add_argument("--timeout", type=int, default=-1, help="seconds per cell (default: none)")
    parser.add_argument("--data", metavar="NAME_OR_PATH", default=None,
                        help="collection every notebook uses: sample, scifact or a BEIR folder (sets LESSONLIB_DATASET; "
                             "default: LESSONLIB_DATASET, else SciFact when it is here, else the bundled sample)")
    parser.add_argument("--keep-going", action=argparse.BooleanOptionalAction, default=True,
                        help="run the remaining notebooks after a failure (default); --no-keep-going stops at the first")
    parser.add_argument("--record", action="store_true",
                        help="write each notebook that runs without error back in place, stamped with this run "
                             "(full mode: its outputs too; fast mode: only its figures and time) and with its "
                             "'expected results' box refreshed (lessonlib.workbook.record)")
    parser.add_argument("--widgets", action="store_true",
                        help="keep ipywidgets knobs (default: off, LESSONLIB_WIDGETS=0: each knob runs once with its "
                             "defaults, as the static HTML export could never move a slider)")


def notebooks_dir(explicit: Path | None) -> Path:
    """The notebooks folder: explicit, ./notebooks, or the repository next to the package."""
    candidates = [explicit] if explicit else [Path.cwd() / "notebooks", Path(__file__).resolve().parents[3] / "notebooks"]
    for folder in candidates:
        if folder and folder.is_dir() and any(folder.glob("*.ipynb")):
            return folder.resolve()
    raise FileNotFoundError(f"no notebooks found in {', '.join(str(c) for c in candidates if c)}; pass --notebooks DIR")


def run(args: argparse.Namespace) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    folder = notebooks_dir(args.notebooks)
    paths = sorted(folder.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if fnmatch.fnmatch(p.name, args.only) or fnmatch.fnmatch(p.stem, args.only)]
        if not paths:
            raise ValueError(f"--only {args.only!r} matches no notebook in {folder}")
    if args.fast:
        os.environ["LESSONLIB_FAST"] = "1"
    if args.data:  # the kernels inherit it; course_dataset() reads it
        previous = os.environ.get("LESSONLIB_DATASET")
        os.environ["LESSONLIB_DATASET"] = resolve_data(args.data)
    try:
        data_line = course_dataset("test").describe()  # a bad --data fails here, in one line, before any work
    except (FileNotFoundError, ValueError):
        if args.data:
            _restore("LESSONLIB_DATASET", previous)
        raise
    if not args.widgets:  # lessonlib.workbook.sliders reads it in the kernel, which inherits this environment
        os.environ["LESSONLIB_WIDGETS"] = "0"
    out = args.out.resolve()
    (out / "results").mkdir(parents=True, exist_ok=True)
    mode = "fast" if is_fast() else "full"
    print(f"lessonlib workbook: {len(paths)} notebooks, {mode} mode, into {out}\n  data: {data_line}", file=sys.stderr)

    failures, summary = [], []
    machine, commit = _machine(), _commit(folder)  # before --record changes the notebooks (and so the "+dirty")
    for path in paths:
        results_file = out / "results" / f"{path.stem}.json"
        results_file.unlink(missing_ok=True)
        os.environ["LESSONLIB_RESULTS"] = str(results_file)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=None if args.timeout < 0 else args.timeout, kernel_name="python3",
            resources={"metadata": {"path": str(folder)}}, record_timing=not args.record,
        )
        start = time.perf_counter()
        status = "ok"
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            # a timed-out cell (--timeout) or a dead kernel fails this notebook, not the whole run
            status = "TIMEOUT" if isinstance(exc, CellTimeoutError) else "FAILED"
            failures.append(path.name)
            print(f"  {path.name}: {_one_line(exc)}", file=sys.stderr)
        elapsed = time.perf_counter() - start
        with atomic_write(out / path.name) as handle:
            nbformat.write(nb, handle)
        export_html(nb, out / f"{path.stem}.html")  # offline: MathJax beside it, no CDN script
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        summary.append((path.name, status, elapsed, results))
        if args.record:
            _record(path, nb, status, {"mode": mode, "device": machine, "dataset": data_line, "commit": commit,
                                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": round(elapsed, 1),
                                       "results": {name: entry["value"] for name, entry in results.items()}})
        print(f"[{status}] {path.name} ({elapsed:.0f} s)", file=sys.stderr)
        for name, entry in results.items():
            print(f"    {name}: {entry['value']}")
        sys.stdout.flush()
        if failures and not args.keep_going:
            break

    total = sum(s[2] for s in summary)
    lines = ["| notebook | status | wall time |", "| --- | --- | ---: |"]
    lines += [f"| {name} | {status} | {duration(elapsed)} |" for name, status, elapsed, _ in summary]
    lines += ["", f"{len(summary) - len(failures)} notebooks ok, {len(failures)} failed, {total / 60:.1f} min in all "
                  f"({mode} mode; data: {data_line})"]
    if failures:
        lines.append(f"failed: {', '.join(failures)} (executed copies with the error in {out})")
    print("\n" + "\n".join(lines))
    with atomic_write(out / "summary.md") as handle:  # the record of this run, to cite or compare
        handle.write(f"lessonlib workbook, {time.strftime('%Y-%m-%d %H:%M %Z')}; {machine}; "
                     f"lessonlib {commit}\n\n" + "\n".join(lines) + "\n")
    return 1 if failures else 0


def _record(path: Path, executed: Any, status: str, run: dict[str, Any]) -> None:
    """Write ``path`` back stamped with ``run`` (:func:`lessonlib.workbook.record.record_run`); a failed run is not recorded."""
    import nbformat  # deferred: as in run()

    from lessonlib.workbook.record import record_run  # deferred: only --record needs it

    if status != "ok":
        print(f"  {path.name}: not recorded ({status}); the stored notebook is unchanged", file=sys.stderr)
        return
    stored = nbformat.read(path, as_version=4)
    recorded = record_run(stored, executed if run["mode"] == "full" else None, run)
    with atomic_write(path) as handle:
        nbformat.write(recorded, handle)


def _one_line(exc: Exception) -> str:
    """``AssertionError: the message`` of a failed cell (nbclient keeps the kernel's ename/evalue), ANSI-free."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\n", " ")[:300]


def _machine() -> str:
    """CPU model and cores, and the GPU when torch sees one."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores"
    import torch  # a core dependency; imported here only to name the GPU

    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def _commit(folder: Path) -> str:
    """The git commit of the notebooks' repository (``+dirty`` with local changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def resolve_data(value: str) -> str:
    """``--data`` as the kernels should see it: a known name as is, a folder as an absolute path."""
    path = Path(value).expanduser()
    return str(path.resolve()) if path.exists() else value
