"""lessonlib's import graph: no circles, and every import inside a function says why it is deferred."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "lessonlib"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(("lessonlib",) + path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.Module):
    """(statement, at module level?) for every lessonlib import; TYPE_CHECKING blocks are skipped."""
    skip = {id(n) for b in tree.body if _type_checking(b) for n in ast.walk(b)}
    top = {id(n) for b in tree.body for n in ([b] + (b.body if isinstance(b, (ast.If, ast.Try)) else []))}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("lessonlib"):
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import) and any(a.name.startswith("lessonlib") for a in node.names):
            names = [a.name for a in node.names if a.name.startswith("lessonlib")]
        else:
            continue
        if id(node) not in skip:
            yield node, id(node) in top, {r for r in map(_resolve, names) if r}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for _, at_top, targets in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if at_top:
                # a package's own __init__ is imported before its submodules: not an edge of the graph
                graph[name] |= {t for t in targets if t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    colour, stack, found = {}, [], []

    def visit(node: str) -> None:
        colour[node] = "grey"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour.get(nxt) == "grey":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in colour:
                visit(nxt)
        stack.pop()
        colour[node] = "black"

    for node in sorted(graph):
        if node not in colour:
            visit(node)
    return found


def test_module_level_imports_have_no_circles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_every_import_inside_a_function_says_why_it_is_deferred():
    undocumented = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, at_top, _ in _imports(ast.parse("\n".join(lines))):
            if not at_top and "# deferred" not in lines[node.end_lineno - 1]:
                undocumented.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert undocumented == [], "imports inside functions without a '# deferred: ...' reason: " + ", ".join(undocumented)
