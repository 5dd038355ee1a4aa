"""Package boundaries: arrows run one way (bench → platform → benchmarks → evaluator).

The evaluator imports nothing of Django, ``earthbench`` or ``benchmarks``; the
client imports nothing of the evaluator or the platform. Checked on the source
(every import statement, top level or inside functions) so a lazy import cannot
slip through, and by importing each package in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "evaluator": ("django", "rest_framework", "celery", "earthbench", "benchmarks"),
    "client/earthbench_client": ("evaluator", "earthbench", "benchmarks", "django"),
    "benchmarks": ("earthbench", "django"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package):
    banned = FORBIDDEN[package]
    offences = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in banned
    ]
    assert not offences, "\n".join(offences)


def test_the_check_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from earthbench.x import y\n    import django.db\n")
    assert [n for _, n in _imports(f)] == ["earthbench.x", "django.db"]


@pytest.mark.parametrize(
    ("module", "banned"),
    [("evaluator.cli", "django earthbench benchmarks"), ("earthbench_client.cli", "evaluator earthbench django")],
)
def test_importing_a_package_loads_nothing_above_it(module, banned):
    code = (
        f"import sys, importlib; importlib.import_module({module!r});"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {banned.split()!r}];"
        "print(bad); assert not bad"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env={"PYTHONPATH": f"{REPO}:{REPO / 'platform'}:{REPO / 'client'}",
                            "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr


# ------------------------------------------------ no import cycle in the platform

APPS = ("accounts", "benchmarks", "leaderboards", "submissions")


def _module_graph(src: Path) -> dict[str, set[str]]:
    """``earthbench.*`` module → the ``earthbench.*`` modules it imports, from the
    AST of every file under ``src/earthbench`` (top level and inside functions;
    ``if TYPE_CHECKING:`` blocks are skipped: they never run)."""
    files = {}
    for path in sorted((src / "earthbench").rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = {
            id(n) for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        edges = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # ``from pkg import mod`` imports the module pkg.mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in files and t != name}
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _app_cycles(src: Path) -> list[list[str]]:
    return [
        c for c in _cycles(_module_graph(src))
        if any(m.split(".")[1] in APPS for m in c if m.count("."))
    ]


def test_no_import_cycle_among_the_platform_apps():
    """Arrows run one way inside the platform too: views → services → models,
    tasks → services, intake/lifecycle → dispatch (tasks by name), the catalog →
    submissions.baselines. No model module needs an exception: a model imports
    only models of apps below it (accounts, benchmarks ← submissions ← leaderboards)."""
    cycles = _app_cycles(REPO / "platform")
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_the_cycle_check_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "earthbench" / "submissions"
    pkg.mkdir(parents=True)
    (tmp_path / "earthbench" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from earthbench.submissions import b\n")
    (pkg / "b.py").write_text("from . import c\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from earthbench.submissions import b\n"
        "import earthbench.submissions.a\n"
    )
    assert _module_graph(tmp_path)["earthbench.submissions.c"] == {"earthbench.submissions.a"}
    assert _app_cycles(tmp_path) == [["earthbench.submissions.a", "earthbench.submissions.b",
                                      "earthbench.submissions.c"]]
