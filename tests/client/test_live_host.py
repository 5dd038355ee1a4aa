"""End to end for hosts: the real CLI (`earthbench host ...`, a subprocess) against
the real server and worker: create from a bundle, publish, edit, a refused bundle,
an interrupted and resumed update that makes -v2, and re-scoring into -v2."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle

from .conftest import REPO

pytestmark = pytest.mark.slow(20)

SLUG = EXAMPLE_SPEC["slug"]
V2 = "example-landcover-v2"


def _manage(server, *args: str) -> str:
    tmp = server.tmp
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "earthbench.settings.dev",
        "EARTHBENCH_VAR_DIR": str(tmp / "var"),
        "EARTHBENCH_STORAGE_DIR": str(tmp / "storage"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.sqlite3'}",
        "PYTHONPATH": f"{REPO}:{REPO / 'platform'}",
    }
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _api(server, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers={"Authorization": f"Token {server.token}"},
                     timeout=30)


def test_host_creates_publishes_edits_and_versions_from_the_cli(eb_server, tmp_path):
    bundle = build_example_bundle(tmp_path / "example.zip")
    r = eb_server.cli("host", "create", str(bundle))
    assert r.returncode == 2 and "host role" in r.stderr  # not a host yet
    assert "demo is a host" in _manage(eb_server, "host_role", "demo")

    r = eb_server.cli("host", "create", str(bundle), "--chunk-size", "16K")
    assert r.returncode == 0, r.stderr
    assert f"created {SLUG} (unpublished)" in r.stdout
    assert "30 test samples: public" in r.stdout and "baseline (baseline.csv) public: oa=" in r.stdout
    assert _api(eb_server, f"/api/v1/benchmarks/{SLUG}/").status_code == 404

    r = eb_server.cli("host", "publish", SLUG)
    assert r.returncode == 0 and "(published)" in r.stdout
    assert _api(eb_server, f"/api/v1/benchmarks/{SLUG}/").status_code == 200
    r = eb_server.cli("host", "edit", SLUG, "--set", "daily_quota=3", "--set", "title=Renamed")
    assert r.returncode == 0, r.stderr
    assert "daily_quota" in r.stdout and "title" in r.stdout
    r = eb_server.cli("host", "edit", SLUG, "--set", "daily_quota=0")
    assert r.returncode == 2 and "field 'daily_quota'" in r.stderr
    shown = eb_server.cli("host", "show", SLUG)
    assert "edited daily_quota 5 → 3" in shown.stdout

    # A refused bundle: the error names the field and the line; nothing changes.
    bad = build_example_bundle(tmp_path / "bad.zip", spec={"primary_metric": "nope"})
    r = eb_server.cli("host", "update", SLUG, str(bad))
    assert r.returncode == 2
    assert "benchmark.yaml line" in r.stderr and "field 'primary_metric'" in r.stderr

    # A participant's submission on v1, then new truth: -v2, resumed after an interruption.
    sample = eb_server.storage / "benchmarks" / SLUG / "private" / "truth.csv"
    r = eb_server.cli("submit", SLUG, str(sample), "--wait")
    assert r.returncode == 0, r.stderr
    v2 = build_example_bundle(tmp_path / "v2.zip", seed=3)
    r = eb_server.cli("host", "update", SLUG, str(v2), "--chunk-size", "8K",
                      env={"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "2"})
    assert r.returncode == 3, r.stderr
    r = eb_server.cli("host", "update", SLUG, str(v2), "--chunk-size", "8K")
    assert r.returncode == 0, r.stderr
    assert "resuming at offset 16384" in r.stderr
    assert f"new_version {V2} (unpublished)" in r.stdout and "new truth" in r.stdout

    r = eb_server.cli("host", "rescore", V2)
    assert r.returncode == 0 and "1 submission(s) queued" in r.stdout
    eb_server.cli("host", "publish", V2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = _api(eb_server, f"/api/v1/benchmarks/{V2}/leaderboard/").json()
        teams = [row for row in rows.get("results", rows.get("rows", [])) if not row.get("is_baseline")]
        if teams:
            break
        time.sleep(1)
    assert teams and teams[0]["primary_value"] < 1.0  # the v1 oracle against new truth
    v1 = _api(eb_server, f"/api/v1/benchmarks/{SLUG}/leaderboard/").json()
    v1_rows = [row for row in v1.get("results", v1.get("rows", [])) if not row.get("is_baseline")]
    assert v1_rows[0]["primary_value"] == 1.0  # v1's numbers are unchanged
