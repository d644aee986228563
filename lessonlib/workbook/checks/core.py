"""The check runner: compare a learner's function with lessonlib's reference on hidden cases.

An exercise is one module ``checks/exNN_<name>.py`` (named after its source ``exercises/source/exNN_<name>.py``)
that registers an :class:`ExerciseCheck`:

``cases(rng) -> list[Case]``
    the hidden cases, drawn from ``rng`` when the check runs; each :class:`Case` has a ``name`` that teaches
    ("ties at the cut-off", "k larger than n", "all-padding row", "random batch 3") and the keyword
    arguments of the learner's function;
``reference(**kwargs)``
    the expected answer, computed by the library code the workbook itself runs;
``hint``
    the general hint, shown with a failing case that no known mistake explains;
``wrong: {hint: variant}``
    known-wrong variants of the function (same signature as the learner's). When the learner's output on
    a failing case equals a variant's output (and the variant differs from the reference there), the
    failure shows that variant's hint instead of the general one;
``blocks``
    the lessonlib objects (functions, classes, methods) the learner must not call while their function
    runs — while :func:`check` runs it, a call into any of them (or any method of a blocked class) raises
    :class:`~lessonlib.workbook.checks.guard.BlockedCall` inside the learner's code, "<name> is not
    available during this check: this exercise asks you to write it yourself", and the case fails
    (:mod:`lessonlib.workbook.checks.guard`). The reference is called by the check outside that window;
``compare(got, expected) -> bool`` / ``atol``
    how outputs are compared (default :func:`close` to ``atol``).

In the learner's notebook, ``check("ndcg_at_k", ndcg_at_k)`` prints a pass line or the first failing case —
its name, its inputs (summarised when large), expected vs got, and the hint. The learner never sees the
solution: the reference is library code, the cases are generated at check time. This is the learner's
feedback; grading (:mod:`lessonlib.workbook.grading`) draws its own cases from a seed it chooses and
compares in the grader's process, where nothing in the notebook can reach.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lessonlib.workbook.checks import guard


@dataclass(frozen=True)
class Case:
    """One hidden case: a name that says what it tests, and the keyword arguments of the learner's function."""

    name: str
    kwargs: dict[str, Any]


@dataclass
class ExerciseCheck:
    """One exercise's hidden test (see the module docstring for each field)."""

    id: str
    title: str
    practises: str  # the notebook section it practises, e.g. "11_evaluation §5.1"
    cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable[..., Any]
    hint: str
    wrong: dict[str, Callable[..., Any]] = field(default_factory=dict)
    blocks: tuple[object, ...] = ()
    compare: Callable[[Any, Any], bool] | None = None
    atol: float = 1e-6

    def __post_init__(self) -> None:
        if not isinstance(self.wrong, dict) or not all(isinstance(h, str) and h and callable(v) for h, v in self.wrong.items()):
            raise TypeError(f"ExerciseCheck {self.id!r}: wrong must be {{hint text: variant function}}")
        self.blocks = tuple(self.blocks)
        for obj in self.blocks:
            if not guard.blockable(obj):
                raise TypeError(f"ExerciseCheck {self.id!r}: cannot block {obj!r} (blocks holds Python functions, "
                                "methods and classes)")

    def blocked(self) -> tuple[object, ...]:
        """What the guard blocks while the learner's function runs: ``blocks`` and the check's own reference."""
        return (*self.blocks, self.reference)

    def same(self, got: Any, expected: Any) -> bool:
        """Whether ``got`` passes against ``expected`` (the check's comparison; False where it cannot compare)."""
        try:
            return bool(self.compare(got, expected) if self.compare else close(got, expected, self.atol))
        except Exception:  # an odd value the comparison cannot handle is a wrong value
            return False

    def make_cases(self, rng: np.random.Generator) -> list[Case]:
        """``cases(rng)``, checked: every item a :class:`Case` with a kwargs dict, names unique and non-empty."""
        cases = list(self.cases(rng))
        seen: set[str] = set()
        for case in cases:
            if not isinstance(case, Case) or not isinstance(case.kwargs, dict):
                raise TypeError(f"exercise {self.id!r}: cases() must return Case(name, kwargs) items, got {case!r:.80}")
            if not case.name or case.name in seen:
                raise ValueError(f"exercise {self.id!r}: case names must be unique and non-empty ({case.name!r})")
            seen.add(case.name)
        return cases


@dataclass
class CheckResult:
    exercise: str
    passed: int
    total: int
    failures: list[str] = field(default_factory=list)  # one message per failing case (name, inputs, expected, got)
    status: str = "ok"  # ok | failed | not_implemented | error
    hints: list[str] = field(default_factory=list)  # the hint of each failure (same order as failures)
    failed_cases: list[str] = field(default_factory=list)  # the names of the failing cases (same order)

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
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().double().numpy()
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


# ------------------------------------------------------------------------------------------ summaries
FULL_REPR = 300  # a value whose repr is at most this long is shown in full


def summarise(value: Any, limit: int = FULL_REPR) -> str:
    """``repr(value)`` when short; else a summary: arrays and tensors by shape, dtype, min/max and a slice,
    long lists/tuples/dicts by length and their first items (each summarised the same way)."""
    text = _repr(value)
    if len(text) <= limit:
        return text
    if _is_array(value):
        return _summarise_array(value)
    if isinstance(value, dict):
        items = list(value.items())
        head = ", ".join(f"{k!r}: {summarise(v, 60)}" for k, v in items[:4])
        return f"dict of {len(items)} items {{{head}{', ...' if len(items) > 4 else ''}}}"
    if isinstance(value, (list, tuple)):
        head = ", ".join(summarise(v, 60) for v in value[:4])
        return f"{type(value).__name__} of {len(value)} items [{head}{', ...' if len(value) > 4 else ''}]"
    return text[: limit - 3] + "..."


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (type(value).__module__.startswith("torch") and hasattr(value, "detach"))


def _repr(value: Any) -> str:
    if _is_array(value):
        array = np.asarray(_to_numpy(value)) if isinstance(value, np.ndarray) else value.detach().cpu().numpy()
        kind = "tensor" if not isinstance(value, np.ndarray) else "array"
        with np.printoptions(precision=4, threshold=1000, linewidth=10_000):
            body = np.array2string(array, separator=", ")
        return f"{kind}({body}, dtype={array.dtype})" if array.ndim else f"{kind}({body}, dtype={array.dtype})"
    if isinstance(value, (list, tuple, dict)) and _size(value) > 2000:
        return "x" * (FULL_REPR + 1)  # too large to print: summarised by the caller, never repr'ed in full
    return repr(value)


def _size(value: Any, budget: int = 2001) -> int:
    """Roughly how many leaves ``value`` has (stops counting at ``budget``)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        total = len(value)
        for v in value:
            if total >= budget:
                break
            total += _size(v, budget - total) if isinstance(v, (list, tuple, dict)) else 0
        return total
    return 1


def _summarise_array(value: Any) -> str:
    kind = "array" if isinstance(value, np.ndarray) else "tensor"
    array = value if isinstance(value, np.ndarray) else value.detach().cpu().numpy()
    text = f"{kind} of shape {tuple(array.shape)}, dtype {array.dtype}"
    if array.size and array.dtype.kind in "biuf":
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        if finite.size:
            text += f", min {finite.min():.4g}, max {finite.max():.4g}"
    flat = array.reshape(-1)
    with np.printoptions(precision=4, linewidth=10_000):
        first = np.array2string(flat[:6], separator=", ")
    return text + f", first values {first}{' ...' if flat.size > 6 else ''}"


def describe(kwargs: dict[str, Any], limit: int = FULL_REPR) -> str:
    """The inputs of a case, each value in full when small, summarised when large."""
    return ", ".join(f"{k}={summarise(v, limit)}" for k, v in kwargs.items())


# ------------------------------------------------------------------------------------------ the check
def check(exercise: str, fn: Callable[..., Any], seed: int = 0, verbose: bool = True) -> CheckResult:
    """Run the hidden cases of ``exercise`` on the learner's ``fn``; print and return the result.

    >>> check("reciprocal_rank_fusion", reciprocal_rank_fusion)
    ✅ reciprocal_rank_fusion: all 12 cases pass
    """
    if exercise not in REGISTRY:
        raise KeyError(f"check: unknown exercise {exercise!r}; known: {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[exercise]
    cases = spec.make_cases(np.random.default_rng(seed))
    result = CheckResult(exercise, 0, len(cases))
    blocker = guard.Blocker(spec.blocked())
    for number, case in enumerate(cases, 1):
        expected = spec.reference(**_copy(case.kwargs))  # outside the window: the reference may use what is blocked
        label = f'case {number} "{case.name}"'
        error: Exception | None = None
        kwargs = _copy(case.kwargs)
        with blocker:  # the blocked objects raise from here until the learner's function returns or raises
            try:
                got = fn(**kwargs)
            except Exception as exc:  # the learner's code may raise anything
                error = exc
        if blocker.hits:  # a blocked call fails the case even if the learner's code caught the exception
            result.status = "error"
            _fail(result, label, f"{label}: {guard.message(blocker.hits[0])}\n     inputs: {describe(case.kwargs)}",
                  "compute it with torch / numpy / plain Python: the library's version is what this exercise asks you to write.")
            continue
        if isinstance(error, NotImplementedError):
            result.status = "not_implemented"
            _fail(result, label, "not implemented yet (the stub still raises NotImplementedError)", spec.hint)
            break
        if error is not None:
            result.status = "error"
            _fail(result, label, f"{label}: raised {type(error).__name__}: {error}\n     inputs: {describe(case.kwargs)}", spec.hint)
            continue
        if spec.same(got, expected):
            result.passed += 1
            continue
        _fail(result, label, f"{label}\n     inputs:   {describe(case.kwargs)}\n     expected: {summarise(expected)}"
                             f"\n     got:      {summarise(got)}", _diagnose(spec, case, got, expected))
    if result.status == "ok" and not result.ok:
        result.status = "failed"
    if verbose:
        _print(spec, result)
    return result


def _fail(result: CheckResult, label: str, message: str, hint: str) -> None:
    result.failures.append(message)
    result.hints.append(hint)
    result.failed_cases.append(label)


def _diagnose(spec: ExerciseCheck, case: Case, got: Any, expected: Any) -> str:
    """The hint of the first wrong variant whose output on ``case`` equals ``got`` (and not ``expected``)."""
    for hint, variant in spec.wrong.items():
        try:
            out = variant(**_copy(case.kwargs))
        except Exception:  # a variant that cannot run this case explains nothing here
            continue
        if spec.same(got, out) and not spec.same(out, expected):
            return hint
    return spec.hint


def wrong_outputs_differ(spec: ExerciseCheck, seed: int = 0) -> dict[str, list[str]]:
    """For each wrong variant, the names of the cases on which it differs from the reference (for tests)."""
    cases = spec.make_cases(np.random.default_rng(seed))
    out: dict[str, list[str]] = {hint: [] for hint in spec.wrong}
    for case in cases:
        expected = spec.reference(**_copy(case.kwargs))
        for hint, variant in spec.wrong.items():
            try:
                value = variant(**_copy(case.kwargs))
            except Exception:
                out[hint].append(case.name)
                continue
            if not spec.same(value, expected):
                out[hint].append(case.name)
    return out


def _copy(kwargs: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(kwargs)


def _print(spec: ExerciseCheck, result: CheckResult) -> None:
    if result.ok:
        print(f"✅ {spec.id}: all {result.total} cases pass")
        return
    print(f"❌ {spec.id}: {result.passed}/{result.total} cases pass")
    print(f"   {result.failures[0]}")
    print(f"   hint: {result.hints[0]}")
    if len(result.failures) > 1:
        others = ", ".join(label.split(" ", 2)[2] for label in result.failed_cases[1:6])
        more = f" and {len(result.failures) - 6} more" if len(result.failures) > 6 else ""
        print(f"   also failing: {others}{more}")
