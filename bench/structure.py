"""The package's structure in numbers: what issue 23 (lessonlib by lecture area) measured before and after.

    python bench/structure.py [LESSONLIB_DIR]

Prints: top-level entries, modules, lines, import floors (the longest chain of module-level imports),
import circles (module-level imports only, then counting imports inside functions), function-level
lessonlib imports, public names defined in more than one module, and the longest function.
Reads the source with ``ast``; imports nothing from it.
"""

from __future__ import annotations

import ast
import collections
import re
import sys
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``root`` (the lessonlib folder)."""
    out = {}
    for p in root.rglob("*.py"):
        name = ".".join(("lessonlib",) + p.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def lessonlib_imports(tree: ast.Module, mods: dict[str, Path], importer: str):
    """(import statement, at module level?, modules it names) for every lessonlib import of ``importer``;
    imports under ``if TYPE_CHECKING:`` are skipped and a package's own ``__init__`` is not an edge."""
    def resolve(n):
        while n and n not in mods:
            n = n.rpartition(".")[0]
        return n or None

    at_top = {id(n) for b in tree.body for n in ([b] + (b.body if isinstance(b, (ast.If, ast.Try)) else []))}
    typing_only = {id(n) for b in tree.body if isinstance(b, ast.If) and "TYPE_CHECKING" in ast.unparse(b.test)
                   for n in ast.walk(b)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("lessonlib"):
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import) and any(a.name.startswith("lessonlib") for a in node.names):
            targets = [a.name for a in node.names if a.name.startswith("lessonlib")]
        else:
            continue
        found = {r for r in map(resolve, targets) if r and r != importer and not importer.startswith(r + ".")}
        yield node, id(node) in at_top, found


def measure(root: Path) -> dict:
    mods = modules(root)
    top, every = collections.defaultdict(set), collections.defaultdict(set)
    fn_imports, lines, longest = 0, 0, (0, "")
    defs = collections.defaultdict(list)
    for name, p in mods.items():
        src = p.read_text(encoding="utf-8")
        lines += len(src.splitlines())
        tree = ast.parse(src)
        # an exercise's check module (workbook/checks/exNN_*) is a plugin: its cases, reference and wrong
        # variants are that exercise's own, named by the same convention in every module, like a command's run
        if p.name != "__init__.py" and not re.match(r"lessonlib\.workbook\.checks\.ex\d\d_", name):
            for node in tree.body:
                names = []
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names = [node.name]
                elif isinstance(node, ast.Assign):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names = [node.target.id]
                for n in names:
                    if not n.startswith("_") and n not in {"NAME", "HELP", "add_arguments", "run", "register"}:
                        defs[n].append(name)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > longest[0]:
                    longest = (n, f"{name}.{node.name}")
        for _, module_level, found in lessonlib_imports(tree, mods, name):
            every[name] |= found
            if module_level:
                top[name] |= found
            else:
                fn_imports += 1
    return {
        "top-level entries": len([p for p in root.iterdir() if p.name != "__pycache__"]),
        "modules (.py files)": len(mods),
        "lines": lines,
        "import floors": _floors(mods, top),
        "import circles (module-level imports)": len(circles(mods, top)),
        "import circles (counting imports inside functions)": len(circles(mods, every)),
        "function-level lessonlib imports": fn_imports,
        "public names defined in more than one module": sum(1 for v in defs.values() if len(v) > 1),
        "longest function": f"{longest[0]} lines ({longest[1]})",
    }


def _floors(mods, edges) -> int:
    memo: dict[str, int] = {}

    def depth(n, seen=()):
        if n in memo:
            return memo[n]
        if n in seen:
            return 0
        memo[n] = 1 + max((depth(w, seen + (n,)) for w in edges.get(n, ())), default=0)
        return memo[n]

    return max(depth(n) for n in mods)


def circles(mods, edges) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(n):
        index[n] = low[n] = counter[0]
        counter[0] += 1
        stack.append(n)
        on.add(n)
        for w in edges.get(n, ()):
            if w not in index:
                visit(w)
                low[n] = min(low[n], low[w])
            elif w in on:
                low[n] = min(low[n], index[w])
        if low[n] == index[n]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == n:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for n in mods:
        if n not in index:
            visit(n)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[1] / "lessonlib"
    for key, value in measure(root.resolve()).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
