"""The ``lessonlib`` command line.

Each sub-command lives in its own module under ``lessonlib.workbook.commands`` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Bad input ends the
program with one line on stderr (``lessonlib: error: ...``) and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Module names under lessonlib.workbook.commands, in the order `lessonlib --help` lists them.
COMMANDS = [
    "retrieve",
    "rerank",
    "train_dual",
    "train_cross",
    "evaluate",
    "workbook",
    "exercises",
    "grade",
]


class UsageError(Exception):
    """Raised by a command for bad input; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lessonlib", description="The Neural Retrieval Workbook.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(f"lessonlib.workbook.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lessonlib.workbook.commands.{module_name}":
                continue  # command not written yet
            raise
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (UsageError, ValueError, FileNotFoundError, KeyError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"lessonlib {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lessonlib {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
