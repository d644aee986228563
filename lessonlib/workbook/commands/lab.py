"""`lessonlib lab`: start JupyterLab on a working copy of the notebooks (the repository stays clean).

    lessonlib lab [--copy DIR] [--port N] [--ip HOST] [--token T] [--open] [--fast] [--data NAME_OR_PATH]

See :mod:`lessonlib.workbook.lab` for what is copied and why.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from lessonlib.workbook.commands._common import positive_int
from lessonlib.workbook.commands.workbook import resolve_data, notebooks_dir
from lessonlib.workbook.lab import copy_workbook, free_port, lab_command

NAME = "lab"
HELP = "start JupyterLab on your working copy of the notebooks (--copy DIR, default work/), so the repository stays clean"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--copy", type=Path, default=None, metavar="DIR",
                        help="working copy: notebooks/ and exercises/student/ are copied here on first start, new ones "
                             "on later starts, none overwritten (default: work/ in the repository, git-ignored)")
    parser.add_argument("--port", type=positive_int, default=None, help="port (default: a free one)")
    parser.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--token", default=None, help="access token (default: a random one, printed in the URL)")
    parser.add_argument("--open", action="store_true", help="open a browser too")
    parser.add_argument("--fast", action="store_true", help="kernels run in fast mode (LESSONLIB_FAST=1)")
    parser.add_argument("--data", metavar="NAME_OR_PATH", default=None,
                        help="collection the notebooks use: sample, scifact or a BEIR folder (sets LESSONLIB_DATASET)")
    parser.add_argument("--notebooks", type=Path, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    root = notebooks_dir(args.notebooks).parent
    target = args.copy if args.copy is not None else root / "work"
    report = copy_workbook(root, target)
    if report.copied and report.kept:
        print(f"working copy {report.folder}: {len(report.copied)} new notebooks copied "
              f"({', '.join(report.copied[:5])}{', ...' if len(report.copied) > 5 else ''}); your {len(report.kept)} kept as they are")
    elif report.copied:
        print(f"working copy {report.folder}: {len(report.copied)} notebooks copied from {root}")
    else:
        print(f"working copy {report.folder}: your {len(report.kept)} notebooks, as you left them")
    first = "notebooks/" + sorted(p.name for p in (report.folder / "notebooks").glob("*.ipynb"))[0]
    lab = lab_command(report.folder, port=args.port or free_port(args.ip), host=args.ip, token=args.token,
                      open_browser=args.open, first=first)
    if args.fast:
        lab.env["LESSONLIB_FAST"] = "1"
    if args.data:
        lab.env["LESSONLIB_DATASET"] = resolve_data(args.data)
    print(f"JupyterLab: {lab.url}\n(Ctrl-C stops it; your work is saved in {report.folder})", flush=True)
    server = subprocess.Popen(lab.argv, env=lab.env)
    # SIGTERM to this process (a test, a process manager) stops the server too, which shuts down its kernels
    signal.signal(signal.SIGTERM, lambda signum, frame: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to both; one is enough to stop, without Jupyter's y/n prompt
        server.terminate()
        server.wait()
        return 130
