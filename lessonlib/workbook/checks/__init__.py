"""Automatic checks for the workbook's exercises: ``check("<exercise id>", learner_function)``.

One module per exercise, ``exNN_<name>.py`` (the stem of its source ``exercises/source/exNN_<name>.py``),
registers its :class:`ExerciseCheck`; every such module of this package is imported here, in order.
"""

import importlib as _importlib
import pkgutil as _pkgutil
import re as _re

from lessonlib.workbook.checks.core import REGISTRY, Case, CheckResult, ExerciseCheck, check, close, register

for _module in sorted(m.name for m in _pkgutil.iter_modules(__path__) if _re.fullmatch(r"ex\d\d+_\w+", m.name)):
    _importlib.import_module(f"{__name__}.{_module}")

__all__ = ["REGISTRY", "Case", "CheckResult", "ExerciseCheck", "check", "close", "register"]
