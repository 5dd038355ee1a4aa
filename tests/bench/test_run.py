"""Smoke test of the scoring-speed benchmark: ``bench/run.py --quick`` on a few
cases runs, asserts EarthBench equals each reference, and prints its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow(15)
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
            # one run per implementation: the smoke test checks that the harness
            # runs and asserts equality; medians over repeats are make bench's job
            # (the interleaving itself is tested with fake cases below)
            "--repeats",
            "1",
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


def _fake_case(log: Path, ref_value: float = 1.0, ref_setup_s: float = 0.0):
    sys.path.insert(0, str(REPO))
    import time

    from bench.common import Case, Prepared, Ref

    def note(name):
        with log.open("a") as f:
            f.write(name + "\n")

    def prepare(size, work):
        return Prepared(
            eb=lambda _s: note("EB") or {"x": 1.0},
            eb_setup=lambda: time.sleep(0.3),
            refs=[Ref("ref", lambda _s: note("ref") or {"x": ref_value},
                      lambda: time.sleep(ref_setup_s))],
            eb_timed="",
        )

    return Case("k", "fake", "items", (1,), (1,), prepare)


def test_every_implementation_runs_repeatedly_interleaved_median_reported(tmp_path):
    from bench.run import run_size

    log = tmp_path / "order.txt"
    rows = run_size(_fake_case(log), 1, tmp_path, repeats=3)
    assert log.read_text().split() == ["EB", "ref"] * 3
    for row in rows:
        assert len(row["runs_s"]) == 3
        assert row["seconds"] == sorted(row["runs_s"])[1]
    assert rows[1]["equal_keys"] == 1
    assert rows[0]["seconds"] < 0.3  # warm: the setup is outside the timer


def test_cold_runs_time_the_setup_and_differences_fail(tmp_path):
    from bench.run import run_size

    rows = run_size(_fake_case(tmp_path / "a.txt", ref_setup_s=0.3), 1, tmp_path,
                    repeats=1, cold=True)
    assert rows[1]["seconds"] >= 0.3 and rows[1]["cold"] is True  # ref setup timed
    assert rows[0]["seconds"] < 0.3  # EarthBench's warm-up is skipped, not timed
    with pytest.raises(AssertionError, match="x EarthBench 1.0"):
        run_size(_fake_case(tmp_path / "b.txt", ref_value=2.0), 1, tmp_path, repeats=1)
