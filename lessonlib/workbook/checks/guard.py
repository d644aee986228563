"""Block the reference implementations while the learner's function runs: checks that cannot be gamed.

An exercise lists in ``ExerciseCheck.blocks`` the lessonlib objects its learner must write instead of
call (functions, classes — every method of a blocked class —, methods). While :func:`check` runs the
learner's function, a call into any of them raises :class:`BlockedCall` *inside the learner's code*::

    rrf is not available during this check: this exercise asks you to write it yourself

and the case fails, even if the learner's code catches the exception (the call is recorded).

How (Python 3.11 has no ``sys.monitoring``): :class:`Blocker` swaps the ``__code__`` of each blocked
*function object* for a two-line guard for the duration of the call, and puts the original back on exit
(``finally``: also when the learner's code raises, or on Ctrl-C). Because the function object itself is
changed, every name bound to it is caught — ``from lessonlib.retrieval.fusion import rrf`` at the top of
the notebook, a public re-export, a bound method, an instance of a blocked class created before the
check. Nothing is traced: the learner's code runs at full speed, no tracer or profiler is installed, so
pytest-cov and debuggers keep working (a breakpoint inside a blocked function is simply not reached during
the window). Only the blocked objects change, and only for the call: the check computes the reference
outside the window. A copy of a function made beforehand (``types.FunctionType(f.__code__, ...)``) or a
module reloaded from its file escapes it; the grader also covers those (below).

In the grader's kernel lessonlib is a stub and cannot be imported at all
(:mod:`lessonlib.workbook.grading`); a submission that works around the stub (edits ``sys.meta_path``
and imports the real package by path) loads new function objects the grader cannot reach. There
:class:`ProfileBlocker` blocks by *code identity* — the source file (relative to the package) and the
qualified name of each blocked function — with ``sys.setprofile`` for the duration of each call (the
grader's cell, not the learner's notebook, so the cost there does not matter).

This module imports only the standard library: the grader runs its source inside the kernel.
"""

from __future__ import annotations

import functools
import sys
import types
import warnings

MESSAGE = "{name} is not available during this check: this exercise asks you to write it yourself"
# dunder methods of a blocked class that stay callable (printing, hashing, comparing or pickling an object
# is not computing the answer)
_KEPT = frozenset({"__repr__", "__str__", "__format__", "__hash__", "__eq__", "__ne__", "__del__", "__sizeof__",
                   "__dir__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__init_subclass__",
                   "__class_getitem__", "__subclasshook__", "__instancecheck__", "__subclasscheck__"})


class BlockedCall(RuntimeError):
    """A blocked reference was called while the learner's function ran."""


def message(name: str) -> str:
    return MESSAGE.format(name=name)


def _display(fn: types.FunctionType) -> str:
    return f"{fn.__module__}.{fn.__qualname__}" if fn.__module__ else fn.__qualname__


def functions(obj: object, _seen: set | None = None) -> list[types.FunctionType]:
    """The Python function objects behind ``obj`` (a function and what it wraps, a method, every method of
    a class and of its bases from the same package, property accessors, a ``functools.partial``'s function)."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    out: list[types.FunctionType] = []
    if isinstance(obj, types.FunctionType):
        out.append(obj)
        wrapped = getattr(obj, "__wrapped__", None)  # functools.wraps: the decorated function too
        if wrapped is not None:
            out += functions(wrapped, seen)
    elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        out += functions(obj.__func__, seen)
    elif isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                out += functions(accessor, seen)
    elif isinstance(obj, functools.partial):
        out += functions(obj.func, seen)
    elif isinstance(obj, type):
        package = (obj.__module__ or "").split(".")[0]
        for cls in obj.__mro__:
            if cls is object or (cls.__module__ or "").split(".")[0] != package or package == "builtins":
                continue
            for name, attr in vars(cls).items():
                if name in _KEPT or isinstance(attr, type):
                    continue
                out += functions(attr, seen)
    elif callable(obj) and hasattr(obj, "__wrapped__"):  # e.g. functools.lru_cache: block what it wraps
        out += functions(obj.__wrapped__, seen)
    return out


def blockable(obj: object) -> bool:
    return bool(functions(obj))


_TEMPLATES: dict[int, types.CodeType] = {}


def _guard_code(nfree: int, hook) -> types.CodeType:
    """A code object that calls ``hook()`` (which raises) and has ``nfree`` free variables, so that it fits
    any function with a closure of that size (``func.__code__`` may only be swapped for one that does)."""
    template = _TEMPLATES.get(nfree)
    if template is None:
        names = [f"v{i}" for i in range(nfree)]
        src = ("def _outer():\n"
               + (f"    {' = '.join(names)} = None\n" if names else "")
               + "    def _lessonlib_blocked_(*args, **kwargs):\n"
               + (f"        ({', '.join(names)},)\n" if names else "")
               + "        return '\\0hook'()\n"
               + "    return _lessonlib_blocked_\n")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "'str' object is not callable": the constant is swapped below
            scope: dict = {}
            exec(compile(src, "<lessonlib check guard>", "exec"), scope)  # noqa: S102 - our own fixed source
        template = _TEMPLATES[nfree] = scope["_outer"]().__code__
    return template.replace(co_consts=tuple(hook if c == "\0hook" else c for c in template.co_consts))


class Blocker:
    """Context manager: inside it, calling any of ``objects`` raises :class:`BlockedCall` (and is recorded
    in ``hits``, the display names of the blocked functions called, cleared on each entry)."""

    def __init__(self, objects: tuple = ()):
        targets: dict[int, types.FunctionType] = {}
        seen: set = set()
        for obj in objects:
            for fn in functions(obj, seen):
                targets.setdefault(id(fn), fn)
        self.hits: list[str] = []
        self._targets = list(targets.values())
        self._guards = [_guard_code(len(fn.__code__.co_freevars), self._hook(_display(fn))) for fn in self._targets]
        self._saved: list[types.CodeType] | None = None

    def _hook(self, name: str):
        def hook():
            self.hits.append(name)
            raise BlockedCall(message(name))
        return hook

    def __enter__(self) -> "Blocker":
        if self._saved is not None:
            raise RuntimeError("Blocker: already active (use one Blocker per window)")
        self.hits = []
        self._saved = []
        try:
            for fn, code in zip(self._targets, self._guards):
                self._saved.append(fn.__code__)
                fn.__code__ = code
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        saved, self._saved = self._saved or [], None
        for fn, code in zip(self._targets, saved):  # also when only some were swapped
            fn.__code__ = code

    def __exit__(self, *exc) -> bool:
        self._restore()
        return False


# ------------------------------------------------------------------------------------------ by code identity
def keys(objects: tuple = ()) -> list[list[str]]:
    """``[file relative to its package, qualified name, display name]`` of every blocked function: what
    :class:`ProfileBlocker` matches (JSON-able, for the grader's cell)."""
    out, seen = [], set()
    for obj in objects:
        for fn in functions(obj, seen):
            module = fn.__module__ or ""
            filename = fn.__code__.co_filename.replace("\\", "/")
            parts = module.split(".")
            if not module or filename.startswith("<"):
                continue  # generated code (a dataclass's __init__): nothing to match a file against
            stem = filename.rsplit("/", 1)[-1]
            relative = "/".join(parts if stem == "__init__.py" else parts[:-1]) + "/" + stem
            out.append([relative, fn.__code__.co_qualname, _display(fn)])
    return out


class ProfileBlocker:
    """Context manager: inside it, a Python call into a function whose file ends with ``/<relative file>``
    and whose qualified name matches one of ``keys`` raises :class:`BlockedCall` (recorded in ``hits``).
    Uses ``sys.setprofile`` on this thread while active and restores the previous profiler on exit; a
    profiler removed by the code under test is recorded as a hit too."""

    def __init__(self, blocked_keys: list):
        self.hits: list[str] = []
        self._by_name: dict[str, list[tuple[str, str]]] = {}
        for relative, qualname, display in blocked_keys:
            self._by_name.setdefault(qualname, []).append(("/" + relative.lstrip("/"), display))
        self._cache: dict = {}
        self._previous = None
        self._active = False

    def _match(self, code) -> str | None:
        found = self._cache.get(code, False)
        if found is False:
            found = None
            filename = code.co_filename.replace("\\", "/")
            for relative, display in self._by_name.get(code.co_qualname, ()):
                if filename.endswith(relative) or "/" + filename == relative:
                    found = display
                    break
            self._cache[code] = found
        return found

    def _profile(self, frame, event, arg):
        if event == "call":
            name = self._match(frame.f_code)
            if name is not None:
                self.hits.append(name)
                raise BlockedCall(message(name))

    def __enter__(self) -> "ProfileBlocker":
        self.hits = []
        self._previous = sys.getprofile()
        self._active = True
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> bool:
        current = sys.getprofile()
        sys.setprofile(self._previous)
        self._active = False
        if not self.hits and getattr(current, "__self__", None) is not self:
            self.hits.append("sys.setprofile")  # the code under test removed or replaced the guard
        return False
