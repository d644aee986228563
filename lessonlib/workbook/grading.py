"""Grade exercise submissions outside the learner's reach (the model of nbgrader and otter-grader).

A submission is an exercise notebook a learner completed, found as ``<root>/<learner>/<exercise>.ipynb``
or ``<learner>__<exercise>.ipynb``. For each one the grader

1. draws the hidden cases from a seed it chooses per run (recorded in the summary), so answers cannot
   be precomputed, and writes them as JSON (:mod:`lessonlib.workbook.checks.wire`, no pickle);
2. copies the notebook alone into a fresh folder, appends its own last cell, and executes it in a
   separate worker process with a total wall-time limit and a memory limit (``resource.setrlimit``),
   in its own session (killed as a group at the limit). The kernel runs with ``PYTHONSAFEPATH`` and a
   stub ``lessonlib`` first on its path: the package, its reference implementations and the exercise
   solutions cannot be imported from the submission, and no folder beside the notebook can shadow it;
3. the appended cell only calls the learner's function on each case and writes what it returned
   (JSON again) to a file whose name the learner cannot know in advance; while the function runs, a
   call into the exercise's blocked reference code (matched by file and qualified name, should the
   submission get round the stub) raises and fails the case (:mod:`lessonlib.workbook.checks.guard`);
4. **compares in the grader's own process** with the reference: patching ``close``, numpy or torch
   inside the kernel changes nothing.

One broken, hostile or endless submission costs only its own row. The CSV is rewritten atomically
after every submission (an interrupted run keeps the rows so far), its cells are escaped against
formula injection, details are capped, and the summary counts the latest submission per learner and
exercise. What this does not stop: code that runs as the grader's user can still read files or
signal other processes of that user; for untrusted code at scale run the grader in a container.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from lessonlib.core.io import atomic_write
from lessonlib.workbook.checks import REGISTRY, guard, wire

FIELDS = ["learner", "exercise", "passed", "total", "score", "status", "detail", "file"]
DETAIL_CHARS = 200
MEMORY_MB = 3072
KERNEL_START_S = 60  # allowed on top of the time limit for starting the worker and its kernel (a busy machine)
# The only lessonlib a submission sees while graded: ``check`` (imported by every exercise notebook) does
# nothing; every other module (the references, the solutions) cannot be imported. The package's __init__
# also drops an editable install's import finder (``pip install -e``, which would otherwise find the real
# submodules behind the stub) and puts a blocker first on ``sys.meta_path``.
_STUB_INIT = '''"""lessonlib while grading: only workbook.checks.check, which does nothing."""
import sys as _sys


class _Blocked:
    allowed = ("lessonlib.workbook", "lessonlib.workbook.checks")

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.startswith("lessonlib.") and name not in cls.allowed:
            raise ModuleNotFoundError(f"{name} is not available while grading: this exercise asks you to write it yourself", name=name)
        return None


_sys.meta_path[:] = [_Blocked] + [f for f in _sys.meta_path if "lessonlib" not in getattr(f, "__module__", "")
                                  and "lessonlib" not in getattr(type(f), "__module__", "")]
for _name in [m for m in _sys.modules if m.startswith("__editable__") and "lessonlib" in m]:
    del _sys.modules[_name]
'''
STUB = {
    "lessonlib/__init__.py": _STUB_INIT,
    "lessonlib/workbook/__init__.py": "",
    "lessonlib/workbook/checks/__init__.py": "def check(*args, **kwargs):\n"
                                             "    print('(graded by the grader: check() does nothing here)')\n",
}


@dataclass
class Grade:
    learner: str
    exercise: str
    passed: int
    total: int
    status: str
    detail: str
    file: str

    @property
    def score(self) -> float:
        return round(self.passed / self.total, 4) if self.total else 0.0


def find_submissions(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """(learner, notebook) pairs under the given files or folders."""
    found: list[tuple[str, Path]] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"grade: {root} does not exist")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        for nb in files:
            if "__" in nb.stem:
                learner = nb.stem.split("__", 1)[0]
            elif root.is_dir() and nb.parent != root:
                learner = nb.relative_to(root).parts[0]
            else:
                learner = nb.stem
            found.append((learner, nb))
    return found


def _identify(nb: nbformat.NotebookNode, path: Path) -> tuple[str, str] | None:
    """(exercise id, function name) from the notebook's metadata, else from its file name."""
    meta = nb.get("metadata", {})
    meta = meta.get("lessonlib", {}) if isinstance(meta, dict) else {}
    if isinstance(meta, dict) and isinstance(meta.get("exercise"), str) and isinstance(meta.get("function"), str):
        if meta["exercise"] in REGISTRY and meta["function"].isidentifier():
            return meta["exercise"], meta["function"]
    for exercise_id in REGISTRY:
        if exercise_id in path.stem:
            return exercise_id, exercise_id
    return None


def _grader_cell(function: str, cases_file: str, outputs_file: str, blocked: list | None = None) -> str:
    """The cell appended to a submission: call the learner's function on each case, write what it returned.

    The codec and the guard run from their sources in private namespaces (lessonlib is not importable
    there, and the learner's own names, ``json`` or ``encode`` included, stay as they were). While the
    learner's function runs, ``guard.ProfileBlocker`` makes a call into any ``blocked`` function (file
    relative to its package, qualified name — :func:`lessonlib.workbook.checks.guard.keys`) raise, in case
    the submission got round the stub and loaded the real package; such a case fails with the guard's
    message whatever the function returned."""
    return (
        "# --- appended by the grader ---\n"
        "_grader = {}\n"
        f"exec(compile({inspect.getsource(wire)!r}, '<grader-wire>', 'exec'), _grader)\n"
        "_grader['guard'] = {'__name__': '_grader_guard'}\n"
        f"exec(compile({inspect.getsource(guard)!r}, '<grader-guard>', 'exec'), _grader['guard'])\n"
        f"_grader['blocker'] = _grader['guard']['ProfileBlocker']({blocked or []!r})\n"
        "_grader['out'] = []\n"
        f"with open({cases_file!r}, encoding='utf-8') as _grader_f:\n"
        "    _grader['cases'] = _grader['from_wire'](_grader['json'].loads(_grader_f.read()))\n"
        "for _grader_case in _grader['cases']:\n"
        "    _grader['result'] = None\n"
        "    try:\n"
        "        with _grader['blocker']:\n"
        f"            _grader['value'] = {function}(**_grader_case)\n"
        "        _grader['result'] = {'ok': True, 'value': _grader['to_wire'](_grader['value'])}\n"
        "    except NotImplementedError:\n"
        "        _grader['result'] = {'ok': False, 'error': 'NotImplementedError'}\n"
        "    except Exception as _grader_exc:\n"
        "        _grader['result'] = {'ok': False, 'error': (type(_grader_exc).__name__ + ': ' + str(_grader_exc))[:300]}\n"
        "    if _grader['blocker'].hits:\n"
        "        _grader['result'] = {'ok': False, 'error': 'BlockedCall: ' + _grader['guard']['message'](_grader['blocker'].hits[0])}\n"
        "    _grader['out'].append(_grader['result'])\n"
        f"with open({outputs_file!r}, 'w', encoding='utf-8') as _grader_f:\n"
        "    _grader_f.write(_grader['json'].dumps(_grader['out']))\n"
    )


def _limits(memory_mb: int):
    def apply() -> None:
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _run_worker(notebook: Path, work: Path, stub: Path, timeout: int, memory_mb: int) -> tuple[str, str]:
    """Execute ``notebook`` in a worker process of its own session; (status, detail) of the run itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LESSONLIB_CHECK")}
    env.update(PYTHONSAFEPATH="1", PYTHONDONTWRITEBYTECODE="1", LESSONLIB_GRADER_STUB=str(stub))
    log_path = notebook.parent / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lessonlib.workbook.grading", str(notebook), str(work), str(timeout)],
                                cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log, start_new_session=True, preexec_fn=_limits(memory_mb))
        try:
            code = proc.wait(timeout=timeout + KERNEL_START_S)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker, its kernel and anything the submission started
            except ProcessLookupError:
                pass
            proc.wait()
    if code is None:
        return "timeout", f"stopped after {timeout} s"
    with open(log_path, "rb") as handle:
        handle.seek(max(0, log_path.stat().st_size - 4000))
        tail = handle.read().decode("utf-8", "replace")
    if code == 0:
        return "ok", ""
    if code == 3 or "TIMEOUT" in tail:
        return "timeout", f"stopped after {timeout} s"
    if "MemoryError" in tail:
        return "memory", f"ran out of its {memory_mb} MiB memory limit"
    if code < 0:
        return "crashed", f"the process running the notebook was killed (signal {-code})"
    last = [line for line in tail.splitlines() if line.strip()]
    return "crashed", (last[-1] if last else f"the worker exited with code {code}")[:DETAIL_CHARS]


def _end_kernel(pid_file: Path) -> None:
    """Kill the submission's kernel and its process group (it outlives a worker that was killed)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _OutOfTime(Exception):
    pass


def _worker_main(notebook: str, work: str, timeout: str) -> int:
    """Inside the worker process: execute the prepared notebook (its kernel inherits the limits).

    The kernel's path starts with the stub ``lessonlib`` and nothing else of the grader's. The time
    limit covers all cells together: each cell may use what the ones before it left."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    os.environ["PYTHONPATH"] = os.environ.pop("LESSONLIB_GRADER_STUB", "")
    deadline: list[float] = []

    def time_left(cell) -> int:
        if not deadline:  # the kernel is up: the clock starts with the first cell
            deadline.append(time.monotonic() + int(timeout))
        left = deadline[0] - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        return max(1, math.ceil(left))

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout_func=time_left, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": work}})
    try:
        client.execute()
    except (CellTimeoutError, _OutOfTime):
        print("TIMEOUT", file=sys.stderr)
        return 3
    except DeadKernelError as exc:
        print(f"the kernel died: {exc}", file=sys.stderr)
        return 4
    return 0


def grade_notebook(learner: str, path: Path, timeout: int = 60, memory_mb: int = MEMORY_MB, seed: int = 0,
                   source: bytes | None = None) -> Grade:
    """Execute one submission outside the grader and grade it; never raises for a bad submission.

    ``source``: the notebook's bytes as read before any submission ran (:func:`grade` reads them all
    first, so a submission that rewrites another learner's file changes nothing); default: read ``path``.
    """
    try:
        return _grade(learner, path, timeout, memory_mb, seed, source)
    except Exception as exc:  # a malformed notebook must cost only its own row
        return Grade(learner, "?", 0, 0, "crashed", f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS], str(path))


def _grade(learner: str, path: Path, timeout: int, memory_mb: int, seed: int, source: bytes | None = None) -> Grade:
    try:
        text = path.read_bytes() if source is None else source
        nb = nbformat.reads(text.decode("utf-8"), as_version=4)
    except Exception as exc:  # unreadable JSON, wrong format
        return Grade(learner, "?", 0, 0, "unreadable", f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS], str(path))
    ident = _identify(nb, path)
    if ident is None:
        return Grade(learner, "?", 0, 0, "unknown_exercise", "no lessonlib metadata and no exercise id in the file name", str(path))
    exercise, function = ident
    spec = REGISTRY[exercise]
    cases = spec.make_cases(np.random.default_rng(seed))
    total = len(cases)
    with tempfile.TemporaryDirectory(prefix="lessonlib-grade-") as tmp:
        work, stub = Path(tmp) / "work", Path(tmp) / "stub"
        work.mkdir()
        for name, text in STUB.items():
            (stub / name).parent.mkdir(parents=True, exist_ok=True)
            (stub / name).write_text(text)
        cases_file = work / "cases.json"
        cases_file.write_text(json.dumps(wire.to_wire([case.kwargs for case in cases])))
        outputs_file = work / f"out-{secrets.token_hex(8)}.json"
        pid_file = Path(tmp) / "kernel.pid"  # outside the kernel's folder
        nb.cells = [c for c in nb.cells if c.get("cell_type") in ("code", "markdown")]
        # first: the kernel says who it is (it runs in a session of its own: the grader ends it below)
        nb.cells.insert(0, nbformat.v4.new_code_cell(f"import os as _grader_os\nopen({str(pid_file)!r}, 'w').write(str(_grader_os.getpid()))\ndel _grader_os"))
        nb.cells.append(nbformat.v4.new_code_cell(_grader_cell(function, cases_file.name, outputs_file.name, guard.keys(spec.blocked()))))
        notebook = Path(tmp) / "submission.ipynb"  # outside the kernel's folder: the appended cells stay unseen
        nbformat.write(nb, notebook)
        try:
            status, detail = _run_worker(notebook, work, stub, timeout, memory_mb)
        finally:
            _end_kernel(pid_file)
        outputs = None
        if outputs_file.exists():
            try:
                raw = json.loads(outputs_file.read_text(encoding="utf-8"))
                outputs = [{"ok": bool(o["ok"]), "value": wire.from_wire(o["value"])} if o.get("ok") else
                           {"ok": False, "error": str(o.get("error", ""))} for o in raw]
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
                outputs = None
    if status != "ok":
        return Grade(learner, exercise, 0, total, status, detail, str(path))
    if not isinstance(outputs, list) or len(outputs) != total:
        return Grade(learner, exercise, 0, total, "error", f"the grader's cell did not finish: {function}() undefined, or the kernel died (out of memory?)", str(path))
    passed, first_failure, raised, not_implemented = 0, "", 0, False
    for number, (case, out) in enumerate(zip(cases, outputs), 1):
        expected = spec.reference(**case.kwargs)
        label = f'case {number} "{case.name}"'
        if not isinstance(out, dict) or not out.get("ok"):
            error = str(out.get("error", "")) if isinstance(out, dict) else "no value"
            not_implemented = not_implemented or error == "NotImplementedError"
            raised += 1
            first_failure = first_failure or f"{label}: raised {error}"
            continue
        if spec.same(out.get("value"), expected):
            passed += 1
        else:
            first_failure = first_failure or f"{label}: wrong value"
    if passed == total:
        status = "ok"
    elif not_implemented and passed == 0:
        status = "not_implemented"
    elif raised == total - passed:
        status = "error"
    else:
        status = "failed"
    return Grade(learner, exercise, passed, total, status, first_failure[:DETAIL_CHARS], str(path))


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text (OWASP's CSV-injection rule), capped in length."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r", " ").replace("\n", " ")[: DETAIL_CHARS + 50]
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t") else value


def _write(grades: list[Grade], out_csv: Path, seed: int, mtimes: dict[str, float]) -> None:
    with atomic_write(out_csv) as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for g in grades:
            writer.writerow({k: _cell(v) for k, v in {"learner": g.learner, "exercise": g.exercise, "passed": g.passed,
                             "total": g.total, "score": g.score, "status": g.status, "detail": g.detail, "file": g.file}.items()})
    newest: dict[tuple[str, str], Grade] = {}
    for g in grades:  # the latest submission of each learner and exercise (by file time) counts
        key = (g.learner, g.exercise)
        if key not in newest or mtimes.get(g.file, 0.0) >= mtimes.get(newest[key].file, 0.0):
            newest[key] = g
    summary: dict[str, dict] = {}
    for g in newest.values():
        entry = summary.setdefault(g.learner, {"exercises": 0, "score": 0.0, "statuses": {}})
        entry["exercises"] += 1
        entry["score"] = round(entry["score"] + g.score, 4)
        entry["statuses"][g.status] = entry["statuses"].get(g.status, 0) + 1
    with atomic_write(out_csv.with_name(out_csv.stem + "_summary.json")) as handle:
        json.dump({"seed": seed, "learners": summary}, handle, indent=1)


def grade(paths: list[str | Path], out_csv: str | Path, timeout: int = 60, progress: bool = True,
          memory_mb: int = MEMORY_MB, seed: int | None = None) -> list[Grade]:
    """Grade every submission under ``paths``; write ``out_csv`` after each one, and ``<stem>_summary.json``.

    ``timeout``: seconds per submission (all its cells together); ``memory_mb``: its memory limit;
    ``seed``: the hidden cases' seed (default: a new random one per run, recorded in the summary).
    Ctrl-C stops after writing the rows so far (and raises ``KeyboardInterrupt``).
    """
    from tqdm.auto import tqdm

    if timeout < 1 or memory_mb < 256:
        raise ValueError(f"grade(timeout={timeout}, memory_mb={memory_mb}): need timeout >= 1 s and memory >= 256 MiB")
    submissions = find_submissions(paths)
    if not submissions:
        raise FileNotFoundError(f"grade: no .ipynb submissions under {', '.join(map(str, paths))}")
    seed = secrets.randbits(32) if seed is None else int(seed)
    out_csv = Path(out_csv)
    mtimes = {str(p): p.stat().st_mtime for _, p in submissions}
    # every submission is read before any runs: a learner's code may write wherever this user can
    sources = {str(p): _read_or_none(p) for _, p in submissions}
    grades: list[Grade] = []
    try:
        for learner, path in tqdm(submissions, desc="grading", disable=not progress):
            grades.append(grade_notebook(learner, path, timeout, memory_mb, seed, sources[str(path)]))
            _write(grades, out_csv, seed, mtimes)
    except KeyboardInterrupt:
        _write(grades, out_csv, seed, mtimes)
        raise
    return grades


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # unreadable now: grade_notebook reports it in the learner's row
        return None


if __name__ == "__main__":  # the worker process: python -m lessonlib.workbook.grading NOTEBOOK WORKDIR TIMEOUT
    sys.exit(_worker_main(sys.argv[1], sys.argv[2], sys.argv[3]))
