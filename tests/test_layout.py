"""The package's layout shows its design: small modules, no import cycle, providers in layers."""

from __future__ import annotations

import ast
from pathlib import Path

import trio_plivo
from trio_plivo.protocol import PROVIDERS

PACKAGE = Path(trio_plivo.__file__).parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every trio_plivo module ``name`` imports, at any depth of its body (``TYPE_CHECKING``
    blocks and function-level imports included: a cycle hidden there is still a cycle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = node.module or ""
            stem = (f"{base}.{module}" if module else base) if node.level else module
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_module_is_over_400_lines() -> None:
    too_long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_no_import_cycle_inside_the_package() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    # A package imports its own submodules; a submodule importing its package's __init__ only
    # for a name is the ordinary re-export shape, not a design cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_no_provider_named_module_at_the_package_top() -> None:
    names = {name.lower() for name in PROVIDERS}
    provider_named = [
        path.name
        for path in PACKAGE.iterdir()
        if names & set(path.stem.lstrip("_").lower().split("_"))
    ]
    assert names and provider_named == []
