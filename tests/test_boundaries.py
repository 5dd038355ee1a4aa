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
