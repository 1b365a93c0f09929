"""The floors, read from the source: no import cycle between backend packages, and no package importing
another from inside a function (the usual way to hide a cycle). A higher floor reacts to a lower one
through backend/signals.py or a registered hook instead.
"""
from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def _packages(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _imported(node: ast.AST, path: Path, root: Path) -> list[str]:
    """The backend modules an import statement names, as dotted paths (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("backend.")]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = ["backend", *path.relative_to(root).with_suffix("").parts][:-node.level]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        if module == "backend":
            return [f"backend.{alias.name}" for alias in node.names]
        return [module] if module.startswith("backend.") else []
    return []


def _package_of(module: str, packages: set[str]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in packages else None


def _function_local(tree: ast.AST):
    """Import statements inside a function body (at any depth)."""
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    yield func.name, node


def scan(root: Path = BACKEND) -> tuple[dict[str, set[str]], list[str]]:
    """(package -> packages it imports, function-local imports of another package)."""
    packages = _packages(root)
    graph: dict[str, set[str]] = {name: set() for name in packages}
    hidden = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if len(parts) < 2:  # backend/__init__.py, cli.py...: the top floor and the app factory
            continue
        own = parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for module in _imported(node, path, root):
                target = _package_of(module, packages)
                if target and target != own:
                    graph[own].add(target)
        for func, node in _function_local(tree):
            for module in _imported(node, path, root):
                target = _package_of(module, packages)
                if target and target != own:
                    hidden.append(f"backend/{path.relative_to(root)}:{node.lineno} {func}() imports {module}")
    return graph, hidden


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages():
    graph, _ = scan()
    assert cycles(graph) == []


def test_no_package_imports_another_inside_a_function():
    _, hidden = scan()
    assert hidden == []


def test_visits_stands_below_contacts_safety_and_planning():
    graph, _ = scan()
    assert not graph["visits"] & {"contacts", "safety", "planning", "tracing"}
    assert not graph["cases"] & {"visits", "contacts", "safety", "planning", "tracing"}


def test_the_scan_sees_a_cycle_and_a_hidden_import(tmp_path):
    """The checks themselves: a two-package cycle, made through a function-local import, is caught."""
    for name in ("lower", "upper"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "lower" / "service.py").write_text("def f():\n    from backend.upper.service import g\n")
    (tmp_path / "upper" / "service.py").write_text("from backend.lower.service import f\n\ndef g():\n    pass\n")
    graph, hidden = scan(tmp_path)
    assert cycles(graph) == [["lower", "upper"]]
    assert len(hidden) == 1 and "f() imports backend.upper.service" in hidden[0]
