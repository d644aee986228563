"""Automatic checks for the workbook's exercises: ``check("<exercise id>", learner_function)``."""

from lessonlib.workbook.checks import exercises as _exercises  # noqa: F401  (registers every exercise's check)
from lessonlib.workbook.checks.core import REGISTRY, CheckResult, ExerciseCheck, check, close, register

__all__ = ["REGISTRY", "CheckResult", "ExerciseCheck", "check", "close", "register"]
