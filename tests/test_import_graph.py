"""lessonlib's import graph: no circles, and every import inside a function says why it is deferred.

The graph is read by bench/structure.py (the script that measures the package's structure)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "lessonlib"
_spec = importlib.util.spec_from_file_location("structure", ROOT.parent / "bench" / "structure.py")
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)
MODULES = structure.modules(ROOT)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for _, at_top, targets in structure.lessonlib_imports(ast.parse(path.read_text(encoding="utf-8")), MODULES, name):
            if at_top:
                graph[name] |= targets
    return graph


def test_module_level_imports_have_no_circles():
    assert structure.circles(MODULES, _graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    mods = dict.fromkeys("abcd")
    assert structure.circles(mods, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_import_inside_a_function_says_why_it_is_deferred():
    undocumented = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, at_top, _ in structure.lessonlib_imports(ast.parse("\n".join(lines)), MODULES, name):
            if not at_top and "# deferred" not in lines[node.end_lineno - 1]:
                undocumented.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert undocumented == [], "imports inside functions without a '# deferred: ...' reason: " + ", ".join(undocumented)
