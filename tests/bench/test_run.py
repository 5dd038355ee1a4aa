"""Smoke test of the scoring-speed benchmark: ``bench/run.py --quick`` on a few
cases runs, asserts EarthBench equals each reference, and prints its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_runs_and_checks_equality(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--quick",
            "--only",
            "segmentation-npz",
            "--only",
            "registration",
            "--json",
            str(out_json),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| case | n | implementation |" in proc.stdout
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status["ok"] and not status["failures"]
    rows = json.loads(out_json.read_text())["rows"]
    cases = {r["case"] for r in rows}
    assert cases == {"segmentation-npz", "registration"}
    refs = [r for r in rows if r["impl"] != "EarthBench"]
    # every reference run was compared key by key (equality asserted in run.py)
    assert refs and all(r["equal_keys"] >= 1 for r in refs)
    assert all(r["seconds"] > 0 and r["ratio"] > 0 for r in refs)


def test_equality_check_rejects_a_difference():
    sys.path.insert(0, str(REPO))
    from bench.common import assert_equal

    assert assert_equal({"map": 0.5}, {"map": 0.5 + 1e-9}, "x") == 1
    with pytest.raises(AssertionError, match="map EarthBench 0.5"):
        assert_equal({"map": 0.5}, {"map": 0.5001}, "x")
    with pytest.raises(AssertionError, match="lacks"):
        assert_equal({}, {"miou": 0.1}, "x")
