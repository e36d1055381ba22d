"""The rules of docs/architecture.md, checked on the source: arrows point inward, no cycles.

The import graph is read with `ast` from every module under src/fleetgate (module level, inside
functions and under TYPE_CHECKING alike: a cycle hidden in a function is still a cycle). A node is
a top-level package (`limits`, `gateway`, ...) or a top-level module (`errors`, `settings`, ...).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "fleetgate"

# The pure core: no I/O, no clock of its own, no shell, no framework, no CLI library.
CORE = ("limits", "routing", "perfmodel", "workload", "batching", "translate")
# Within the core, storage modules do I/O: they may import their database client and asyncio.
STORAGE = ("limits/stores",)
SHELL_LIBRARIES = frozenset(
    {
        "typer",
        "rich",
        "click",
        "starlette",
        "uvicorn",
        "httpx",
        "httpx2",
        "httptools",
        "anthropic",
        "openai",
        "prometheus_client",
        "asyncio",
        "socket",
        "ray",
        "matplotlib",
    }
)
DATABASE_CLIENTS = frozenset({"redis", "psycopg", "sqlite3"})
STORAGE_MAY_IMPORT = DATABASE_CLIENTS | {"asyncio"}
SHELLS = frozenset(
    ["api", "gateway", "upstream", "engine", "sim", "planner", "cli", "demo", "keys", "settings"]
)


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text("utf-8"), str(path))


def imported(tree: ast.Module, relative: str) -> Iterator[str]:
    """Absolute dotted names a module imports (relative imports resolved)."""
    package = ["fleetgate", *relative.split("/")[:-1]]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).rstrip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def node_of(relative: str) -> str:
    first = relative.split("/", maxsplit=1)[0]
    return first.removesuffix(".py")


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for relative, tree in modules():
        source = node_of(relative)
        graph[source]
        for name in imported(tree, relative):
            parts = name.split(".")
            if parts[0] != "fleetgate" or len(parts) < 2:
                continue
            target = parts[1]
            if target != source and ((SRC / target).is_dir() or (SRC / f"{target}.py").exists()):
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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


def test_no_cycle_between_packages() -> None:
    assert cycles(package_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("core", CORE)
def test_a_core_package_imports_no_shell_framework_or_cli(core: str) -> None:
    broken = []
    for relative, tree in modules():
        if node_of(relative) != core:
            continue
        storage = any(relative.startswith(f"{prefix}/") for prefix in STORAGE)
        for name in imported(tree, relative):
            top = name.split(".")[0]
            parts = name.split(".")
            if storage and top in STORAGE_MAY_IMPORT:
                continue
            if (
                top in SHELL_LIBRARIES
                or top in DATABASE_CLIENTS
                or (top == "fleetgate" and len(parts) > 1 and parts[1] in SHELLS)
            ):
                broken.append(f"{relative} imports {name}")
    assert broken == []


def test_only_the_cli_imports_the_cli_libraries() -> None:
    broken = [
        f"{relative} imports {name}"
        for relative, tree in modules()
        if node_of(relative) != "cli"
        for name in imported(tree, relative)
        if name.split(".")[0] in ("typer", "click")
    ]
    assert broken == []


def test_the_gateway_walk_imports_no_http_framework() -> None:
    broken = [
        f"{relative} imports {name}"
        for relative, tree in modules()
        if node_of(relative) == "gateway"
        for name in imported(tree, relative)
        if name.split(".")[0] in ("starlette", "uvicorn") or name.startswith("fleetgate.api")
    ]
    assert broken == []


def test_no_formatter_squeezes_in_the_source() -> None:
    squeezed = [
        f"{relative}:{number}"
        for relative, _ in modules()
        for number, line in enumerate((SRC / relative).read_text("utf-8").splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert squeezed == []


def test_every_module_says_what_it_owns() -> None:
    silent = [
        relative
        for relative, tree in modules()
        if not relative.endswith("__init__.py") and ast.get_docstring(tree) is None
    ]
    assert silent == []
