"""The installed dataset's layout is known in one module (``benchmarks/layout.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from earthbench.benchmarks import layout
from earthbench.benchmarks.models import Benchmark

PLATFORM = Path(__file__).resolve().parents[2] / "platform" / "earthbench"
# bundles.py reads a host's upload (its own optional splits.json), not an installed dataset
ALLOWED = {PLATFORM / "benchmarks" / "layout.py", PLATFORM / "benchmarks" / "bundles.py"}


def test_only_the_layout_module_names_the_private_files():
    offences = []
    for path in sorted(PLATFORM.rglob("*.py")):
        if path in ALLOWED or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in (layout.SPLITS, layout.META):
                offences.append(f"{path.relative_to(PLATFORM)}:{node.lineno} {node.value!r}")
    assert not offences, "read them through benchmarks.layout:\n" + "\n".join(offences)


def test_installed_dataset(eurosat, truth_rows):
    data = layout.require(eurosat)
    assert data.truth_path.is_file() and data.baseline_path.is_file()
    assert sorted(data.splits) == ["private", "public"]
    assert data.test_ids == sorted(sid for sid, _ in truth_rows)
    assert data.test_inputs_dir.is_dir()
    assert layout.prediction_cap_of(eurosat).total > 0


def test_no_dataset(transactional_db):
    bench = Benchmark.objects.create(slug="empty-v1", title="e", task_kind="classification", primary_metric="oa")
    assert layout.installed(bench) is None and layout.prediction_cap_of(bench) is None
    with pytest.raises(layout.NotInstalled, match="no dataset installed for empty-v1"):
        layout.require(bench)
