"""The ``lessonlib`` command line.

Each sub-command lives in its own module under ``lessonlib.workbook.commands`` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Bad input ends the
program with one line on stderr (``lessonlib: error: ...``) and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import zipfile

# Module names under lessonlib.workbook.commands, in the order `lessonlib --help` lists them.
COMMANDS = [
    "retrieve",
    "rerank",
    "train_dual",
    "train_cross",
    "evaluate",
    "workbook",
    "lab",
    "exercises",
    "grade",
    "release",
    "book",
]


class UsageError(Exception):
    """Raised by a command for bad input; printed as one line, exit code 2."""


# Failures a user can cause or meet (bad input, a full disk, a corrupt file, too little memory): one line,
# exit code 2. Anything else is a bug and keeps its traceback.
EXPECTED = (UsageError, ValueError, KeyError, OSError, zipfile.BadZipFile, MemoryError)
EXPECTED_BY_NAME = {"NonFiniteLossError", "SafetensorError", "HeaderTooLarge"}


def _expected(exc: BaseException) -> bool:
    return isinstance(exc, EXPECTED) or any(c.__name__ in EXPECTED_BY_NAME for c in type(exc).__mro__)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    if isinstance(exc, MemoryError):
        text = "out of memory" + (f": {text}" if text else "")
    return text.splitlines()[0][:500] if text else type(exc).__name__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lessonlib", description="The Neural Retrieval Workbook.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
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
    except Exception as exc:
        if args.debug or not _expected(exc):
            raise
        print(f"lessonlib {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print(f"lessonlib {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
