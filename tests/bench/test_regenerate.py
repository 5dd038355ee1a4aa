"""``bench/regenerate.py`` (``make bench``): rewrites only the marked sections of
the performance document, with the date and machine, from one run of the
harness; flags a faster-than-linear curve; leaves a line for a platform
benchmark that is not on the branch."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import regen_platform, regenerate  # noqa: E402

DOC = """# Perf
intro kept
<!-- BEGIN GENERATED: machine -->
stale
<!-- END GENERATED: machine -->
middle kept
<!-- BEGIN GENERATED: scaling -->
stale
<!-- END GENERATED: scaling -->
<!-- BEGIN GENERATED: goals -->
stale
<!-- END GENERATED: goals -->
<!-- BEGIN GENERATED: ttfb -->
stale
<!-- END GENERATED: ttfb -->
end kept
"""


def test_regenerate_rewrites_marked_sections_from_one_run(tmp_path, monkeypatch):
    doc = tmp_path / "perf.md"
    doc.write_text(DOC)
    monkeypatch.setitem(
        regen_platform.SECTIONS, "ttfb", regen_platform.Section("bench/no_such_ttfb.py", needs="x")
    )
    rc = regenerate.main(
        ["--doc", str(doc), "--quick", "--cases", "registration", "--base", "registration=40"]
    )
    text = doc.read_text()
    assert rc == 0, text
    assert "stale" not in text
    for kept in ("intro kept", "middle kept", "end kept"):
        assert kept in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC; `uname -srm`: \w+", text)
    assert "cores (" in text
    scaling = text.split("BEGIN GENERATED: scaling")[1].split("END GENERATED: scaling")[0]
    assert "| registration | EarthBench | " in scaling and "(n=640)" in scaling
    assert re.search(r"\| registration \| EarthBench \|.*\| -?\d+\.\d\d \|", scaling)
    goals = text.split("BEGIN GENERATED: goals")[1]
    assert "| registration vs numpy loop |" in goals
    assert "Not measured: `bench/no_such_ttfb.py` is not on this branch" in text


def test_superlinear_curve_is_flagged():
    rows = [
        {"case": "c", "impl": "EarthBench", "size": n, "seconds": s}
        for n, s in ((100, 0.01), (400, 0.16), (1600, 2.56))  # ~ n^2
    ] + [
        {"case": "c", "impl": "ref", "size": n, "seconds": n / 1e4} for n in (100, 400, 1600)
    ]
    body, problems = regenerate.scaling_section(rows, [regenerate.Curve("c", 100, 1)], (1, 4, 16))
    assert problems and "exponent 2.00" in problems[0]
    assert "faster than linear" in body
    assert regenerate.exponent([(100, 1.0), (400, 4.0), (1600, 16.0)]) == pytest.approx(1.0)


def test_missing_marker_is_an_error(tmp_path):
    doc = tmp_path / "perf.md"
    doc.write_text("# nothing marked\n")
    with pytest.raises(SystemExit, match="no markers"):
        regenerate.main(["--doc", str(doc), "--quick", "--sections", "scaling"])


def test_performance_doc_has_every_section():
    text = (REPO / "docs" / "performance.md").read_text()
    names = {"machine", "scaling", "goals", "scoring", *regen_platform.SECTIONS}
    for name in names:
        assert f"<!-- BEGIN GENERATED: {name} -->" in text, name
        assert f"<!-- END GENERATED: {name} -->" in text, name
