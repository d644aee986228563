"""The check runner: compare a learner's function with lessonlib's reference on hidden cases.

An exercise registers an :class:`ExerciseCheck` (cases, reference, comparison, hint). In the
learner's notebook, ``check("ndcg_at_k", ndcg_at_k)`` runs every case — random inputs and edge
cases (ties, empty inputs, k larger than n) — against the reference and prints a short pass line or
the first failing case with expected vs got and a hint. The learner never sees the solution: the
reference is library code, the cases are generated at check time. This is the learner's feedback;
grading (:mod:`lessonlib.workbook.grading`) draws its own cases from a seed it chooses and compares
in the grader's process, where nothing in the notebook can reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np



@dataclass
class ExerciseCheck:
    """One exercise's hidden test: ``cases(rng)`` yields keyword-argument dicts for the function."""

    id: str
    title: str
    practises: str  # the notebook section it practises, e.g. "11_evaluation §5.1"
    cases: Callable[[np.random.Generator], list[dict[str, Any]]]
    reference: Callable[..., Any]
    hint: str
    compare: Callable[[Any, Any], bool] | None = None
    atol: float = 1e-6


@dataclass
class CheckResult:
    exercise: str
    passed: int
    total: int
    failures: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed | not_implemented | error

    @property
    def ok(self) -> bool:
        return self.passed == self.total and self.total > 0

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0


REGISTRY: dict[str, ExerciseCheck] = {}


def register(spec: ExerciseCheck) -> ExerciseCheck:
    if spec.id in REGISTRY:
        raise ValueError(f"register: exercise id {spec.id!r} registered twice")
    REGISTRY[spec.id] = spec
    return spec


def _to_numpy(value: Any) -> Any:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover
        pass
    return value


def close(got: Any, expected: Any, atol: float = 1e-6) -> bool:
    """Structural comparison: numbers and arrays to ``atol``, dicts/lists element-wise, rest by ==."""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if isinstance(expected, dict):
        return isinstance(got, dict) and set(got) == set(expected) and all(close(got[k], expected[k], atol) for k in expected)
    if isinstance(expected, (list, tuple)) and not (expected and isinstance(expected[0], (int, float, np.number))):
        return isinstance(got, (list, tuple)) and len(got) == len(expected) and all(close(g, e, atol) for g, e in zip(got, expected))
    if isinstance(expected, (np.ndarray, list, tuple, float, int, np.number)) and not isinstance(expected, bool):
        try:
            g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            return False
        return g.shape == e.shape and bool(np.allclose(g, e, atol=atol, rtol=1e-5, equal_nan=True))
    return got == expected


def _short(value: Any, limit: int = 160) -> str:
    text = repr(_to_numpy(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check(exercise: str, fn: Callable[..., Any], seed: int = 0, verbose: bool = True) -> CheckResult:
    """Run the hidden cases of ``exercise`` on the learner's ``fn``; print and return the result.

    >>> check("reciprocal_rank_fusion", reciprocal_rank_fusion)
    ✅ reciprocal_rank_fusion: all 12 cases pass
    """
    if exercise not in REGISTRY:
        raise KeyError(f"check: unknown exercise {exercise!r}; known: {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[exercise]
    cases = spec.cases(np.random.default_rng(seed))
    result = CheckResult(exercise, 0, len(cases))
    for number, kwargs in enumerate(cases, 1):
        expected = spec.reference(**_copy(kwargs))
        try:
            got = fn(**_copy(kwargs))
        except NotImplementedError:
            result.status = "not_implemented"
            result.failures.append("not implemented yet (the stub still raises NotImplementedError)")
            break
        except Exception as exc:  # the learner's code may raise anything
            result.status = "error"
            result.failures.append(f"case {number}: raised {type(exc).__name__}: {exc} | inputs: {_describe(kwargs)}")
            continue
        ok = spec.compare(got, expected) if spec.compare else close(got, expected, spec.atol)
        if ok:
            result.passed += 1
        else:
            result.failures.append(f"case {number}: expected {_short(expected)}, got {_short(got)} | inputs: {_describe(kwargs)}")
    if result.status == "ok" and not result.ok:
        result.status = "failed"
    if verbose:
        _print(spec, result)
    return result


def _copy(kwargs: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(kwargs)


def _describe(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v, 80)}" for k, v in kwargs.items())


def _print(spec: ExerciseCheck, result: CheckResult) -> None:
    if result.ok:
        print(f"✅ {spec.id}: all {result.total} cases pass")
        return
    print(f"❌ {spec.id}: {result.passed}/{result.total} cases pass")
    print(f"   {result.failures[0]}")
    print(f"   hint: {spec.hint}")
