"""CLI against a fake API: status, leaderboards, benchmarks, quota, cancel, container pushes."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat

import httpx
import pytest

from earthbench_client.idempotency import derive_key
from earthbench_client.progress import Progress

from .cli_helpers import POST, error
from .conftest import BENCH, BENCHMARK, scored, submission


def test_status_lists_and_shows(run_cli, fake_api):
    fake_api.add(
        "GET",
        r"/api/v1/submissions/",
        httpx.Response(
            200,
            json={
                "count": 2,
                "next": None,
                "previous": None,
                "results": [scored(9, oa=0.8), submission(8, "failed", error="bad")],
            },
        ),
    )
    r = run_cli("status")
    assert r.code == 0
    assert "0.8000" in r.out and "failed" in r.out
    fake_api.polls = [submission(8, "failed", error="bad line 3")]
    r = run_cli("status", "8")
    assert r.code == 2 and "bad line 3" in r.err


def _dota_like(sid: int = 7, *, with_key: bool = True) -> dict:
    """A score whose evaluator default ("primary": "map") is not what the benchmark
    ranks on (ap50), as for the DOTA benchmark."""
    score = {
        "split": "public",
        "metrics": {"map": 0.4, "ap50": 0.7, "primary": "map"},
        "primary_value": 0.7,
        "ci": {"ap50": [0.6, 0.8]},
        "evaluator_version": "x",
    }
    if with_key:
        score["primary_metric"] = "ap50"
    return submission(sid, "scored", scores=[score])


def test_submit_names_the_benchmarks_primary_metric(run_cli, fake_api, preds):
    fake_api.benchmark = {**BENCHMARK, "primary_metric": "ap50",
                          "metrics": [{"key": "ap50", "direction": "max"}]}
    fake_api.created = _dota_like(with_key=False)
    fake_api.polls = [_dota_like(with_key=False)]
    r = run_cli("submit", BENCH, str(preds), "--wait")
    assert r.code == 0, r.err
    assert "ap50=0.7000 [0.6000, 0.8000] on public" in r.out and "map=" not in r.out


def test_status_names_the_primary_metric(run_cli, fake_api):
    fake_api.polls = [_dota_like()]
    r = run_cli("status", "7")
    assert "ap50=0.7000" in r.out and "map=" not in r.out
    fake_api.add("GET", r"/api/v1/submissions/", httpx.Response(
        200, json={"next": None, "results": [_dota_like(), scored(8, oa=0.8)]}))
    r = run_cli("status")
    header, _, first, second = r.out.splitlines()
    assert header.split()[:5] == ["id", "benchmark", "status", "metric", "public"]
    assert first.split()[3:5] == ["ap50", "0.7000"]
    assert second.split()[3:5] == ["oa", "0.8000"]


def test_status_wait(run_cli, fake_api):
    fake_api.polls = [
        submission(5, "queued"),
        submission(5, "running"),
        scored(5, oa=0.7),
    ]
    r = run_cli("status", "5", "--wait", "--json")
    assert r.code == 0 and r.json()["submission"]["status"] == "scored"


def test_status_unknown_id_exits_2(run_cli, fake_api):
    fake_api.add(
        "GET", r"/api/v1/submissions/99/", error(404, "no such submission", "not_found")
    )
    r = run_cli("status", "99")
    assert r.code == 2 and "no such submission" in r.err


# The shape the API returns (leaderboards.exports.rows_as_dicts): flat metric keys
# with their interval bounds, and submitted_at.
BOARD = {
    "benchmark": BENCH,
    "split": "public",
    "primary_metric": "oa",
    "direction": "max",
    "metrics": BENCHMARK["metrics"],
    "results": [
        {
            "rank": 1,
            "team": "alpha",
            "submission_id": 4,
            "method_name": "net, v2",
            "submitted_at": "2030-01-01T00:00:00+00:00",
            "is_baseline": False,
            "primary_value": 0.95,
            "entries": 3,
            "tied_with_leader": True,
            "oa": 0.95,
            "oa_ci_low": 0.9,
            "oa_ci_high": 0.97,
            "macro_f1": 0.9,
            "macro_f1_ci_low": 0.85,
            "macro_f1_ci_high": 0.93,
            "rmse": 1.0,
            "rmse_ci_low": 0.8,
            "rmse_ci_high": 1.2,
            "latency_ms_per_sample": 12.5,
        },
        {
            "rank": None,
            "team": "Baseline",
            "submission_id": 1,
            "method_name": "centroid",
            "submitted_at": "2029-12-31T00:00:00+00:00",
            "is_baseline": True,
            "primary_value": 0.69,
            "entries": 1,
            "tied_with_leader": False,
            "oa": 0.69,
            "oa_ci_low": 0.6,
            "oa_ci_high": 0.75,
            "macro_f1": None,
            "macro_f1_ci_low": None,
            "macro_f1_ci_high": None,
            "rmse": 2.0,
            "rmse_ci_low": 1.5,
            "rmse_ci_high": 2.5,
        },
    ],
}


def test_leaderboard_csv(run_cli, fake_api):
    fake_api.leaderboard = BOARD
    r = run_cli("leaderboard", BENCH, "--format", "csv")
    assert r.code == 0
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["team"] for row in rows] == ["alpha", "Baseline"]
    assert rows[0]["method_name"] == "net, v2"
    assert rows[0]["submitted_at"] == "2030-01-01T00:00:00+00:00"
    assert rows[0]["oa"] == "0.95" and rows[0]["oa_ci_low"] == "0.9"
    assert rows[0]["macro_f1"] == "0.9" and rows[0]["macro_f1_ci_high"] == "0.93"
    assert rows[0]["rmse_ci_low"] == "0.8" and rows[0]["tied_with_leader"] == "true"
    assert rows[0]["latency_ms_per_sample"] == "12.5"
    assert rows[1]["latency_ms_per_sample"] == ""
    assert rows[1]["rank"] == "" and rows[1]["is_baseline"] == "true"
    assert rows[1]["macro_f1"] == ""
    assert list(rows[0])[8:11] == ["oa", "oa_ci_low", "oa_ci_high"]


def test_leaderboard_table_and_json(run_cli, fake_api):
    fake_api.leaderboard = BOARD
    r = run_cli("leaderboard", BENCH)
    assert r.code == 0
    assert "alpha (tied)" in r.out and "Baseline (baseline)" in r.out
    assert "0.9000–0.9700" in r.out and "oa ↑" in r.out
    alpha = next(line for line in r.out.splitlines() if "alpha" in line)
    # Secondary metrics, the efficiency column and the date are shown, not "-".
    assert "0.9000" in alpha and "1.0000" in alpha and "12.5000" in alpha
    assert "2030-01-01 00:00:00" in alpha and " - " not in alpha
    r = run_cli("leaderboard", BENCH, "--format", "json", "--split", "private")
    assert r.json() == BOARD
    assert fake_api.requests[-1].url.params["split"] == "private"


def test_suite_leaderboard_has_no_submission_columns(run_cli, fake_api):
    fake_api.leaderboard = {
        "benchmark": "suite-v1",
        "split": "public",
        "primary_metric": "iqm",
        "direction": "max",
        "metrics": [{"key": "iqm", "direction": "max"}],
        "results": [
            {"rank": 1, "team": "alpha", "iqm": 0.5, "primary_value": 0.5,
             "iqm_ci_low": 0.4, "iqm_ci_high": 0.6, "missing": ["b-v1"]},
        ],
    }
    r = run_cli("leaderboard", "suite-v1", "--format", "csv")
    assert r.out.splitlines() == ["rank,team,iqm,iqm_ci_low,iqm_ci_high", "1,alpha,0.5,0.4,0.6"]
    r = run_cli("leaderboard", "suite-v1")
    assert "0.4000–0.6000" in r.out and "b-v1" in r.out


def test_leaderboard_private_hidden_exits_2(run_cli, fake_api):
    fake_api.add(
        "GET",
        r".*/leaderboard/",
        error(
            403,
            "the private leaderboard is revealed at the deadline",
            "permission_denied",
        ),
    )
    r = run_cli("leaderboard", BENCH, "--split", "private")
    assert r.code == 2 and "revealed at the deadline" in r.err


def test_benchmarks_follows_pagination(run_cli, fake_api):
    page2 = "http://eb.test/api/v1/benchmarks/?limit=1&offset=1"
    other = {**fake_api.benchmark, "slug": "other-v1"}
    fake_api.add(
        "GET",
        r"/api/v1/benchmarks/",
        httpx.Response(
            200,
            json={
                "count": 2,
                "next": page2,
                "previous": None,
                "results": [fake_api.benchmark],
            },
        ),
        httpx.Response(
            200, json={"count": 2, "next": None, "previous": None, "results": [other]}
        ),
    )
    r = run_cli("benchmarks", "--json")
    assert [b["slug"] for b in r.json()] == [BENCH, "other-v1"]
    assert fake_api.requests[1].url.params["offset"] == "1"


def test_quota_json(run_cli, fake_api):
    q = {
        "benchmark": BENCH,
        "limit": 10,
        "used": 10,
        "remaining": 0,
        "in_flight": 1,
        "max_in_flight": 3,
        "resets_at": "2030-01-02T00:00:00Z",
    }
    fake_api.add("GET", r"/api/v1/me/quota/", httpx.Response(200, json=q))
    r = run_cli("quota", BENCH, "--json")
    assert r.code == 0 and r.json() == q
    assert fake_api.requests[0].url.params["benchmark"] == BENCH


def test_cancel(run_cli, fake_api):
    fake_api.add(
        "POST",
        r"/api/v1/submissions/7/cancel/",
        httpx.Response(200, json=submission(status="cancelled")),
    )
    r = run_cli("cancel", "7")
    assert r.code == 0 and "cancelled" in r.out


# ------------------------------------------------------------------ push-image

FAKE_DOCKER = """#!/bin/sh
# Test double for `docker save IMAGE` (writes a fake tarball to stdout).
if [ "$1" = "save" ] && [ "$2" = "team/model:1" ]; then
  printf 'FAKE-IMAGE-TARBALL\\n'
  head -c 200000 /dev/zero
  exit 0
fi
echo "Error response from daemon: reference does not exist: $2" >&2
exit 1
"""


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "docker"
    exe.write_text(FAKE_DOCKER)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return exe


def test_push_image_saves_and_uploads_a_container(
    run_cli, fake_api, fake_docker, tmp_path
):
    fake_api.polls = [scored(oa=0.88, kind="container")]
    work = tmp_path / "work"
    work.mkdir()
    r = run_cli(
        "push-image",
        "team/model:1",
        BENCH,
        "--wait",
        "--tmp-dir",
        str(work),
        env={"GITHUB_SHA": "feed"},
    )
    assert r.code == 0, r.err
    (post,) = fake_api.calls(*POST)
    body = fake_api.bodies[fake_api.requests.index(post)]
    assert b'name="kind"\r\n\r\ncontainer' in body
    assert b'filename="model-1.tar"' in body
    assert b"Content-Type: application/x-tar" in body
    tar = b"FAKE-IMAGE-TARBALL\n" + b"\0" * 200000
    assert tar in body
    assert post.headers["Idempotency-Key"] == derive_key(
        commit="feed",
        benchmark=BENCH,
        sha256=hashlib.sha256(tar).hexdigest(),
        kind="container",
    )
    assert "docker save: " in r.err and "oa=0.8800" in r.out
    assert list(work.iterdir()) == []  # the tarball is removed afterwards


def test_push_image_docker_failure_exits_2(run_cli, fake_api, fake_docker):
    r = run_cli("push-image", "missing:tag", BENCH)
    assert r.code == 2
    assert "reference does not exist: missing:tag" in r.err
    assert fake_api.calls(*POST) == []


def test_push_image_without_docker_exits_2(run_cli, fake_api, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = run_cli("push-image", "team/model:1", BENCH)
    assert r.code == 2 and "docker is not installed" in r.err


def test_push_image_refused_when_benchmark_takes_no_containers(
    run_cli, fake_api, fake_docker
):
    fake_api.benchmark["accepts_containers"] = False
    r = run_cli("push-image", "team/model:1", BENCH)
    assert r.code == 2 and "does not accept model containers" in r.err


def test_progress_redraws_in_place_on_a_terminal():
    err = io.StringIO()
    p = Progress("upload", 1000, stream=err, interactive=True)
    p.update(500)
    p.update(500)  # within 0.1 s of the last draw: not drawn
    p.finish()
    assert err.getvalue() == (
        "\rupload: 500 B / 1000 B (50%)\rupload: 1000 B / 1000 B (100%)\n"
    )


def test_quota_shows_the_container_compute_budget(run_cli, fake_api):
    q = {"benchmark": BENCH, "limit": 5, "used": 1, "remaining": 4, "in_flight": 0, "max_in_flight": 3,
         "resets_at": "2030-01-02T00:00:00Z", "compute_limit_s": 3600, "compute_used_s": 600.0,
         "compute_remaining_s": 3000.0}
    fake_api.add("GET", r"/api/v1/me/quota/", httpx.Response(200, json=q))
    r = run_cli("quota", BENCH)
    assert r.code == 0 and "container compute: 3000 of 3600 s left today (used 600 s)" in r.out
