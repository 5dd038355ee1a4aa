"""End to end: the CLI as a subprocess, configured by environment variables only,
against the real Django server and a real Celery worker on loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os

import httpx
import pytest

from .conftest import BENCH

pytestmark = pytest.mark.slow(25)


def _data(server, *parts: str):
    return server.storage.joinpath("benchmarks", BENCH, *parts)


def test_submit_wait_prints_the_score(eb_server):
    truth = _data(eb_server, "private", "truth.csv")  # a perfect prediction
    r = eb_server.cli("submit", BENCH, str(truth), "--wait", "--method-name", "oracle")
    assert r.returncode == 0, r.stderr
    assert "scored" in r.stdout and "oa=1.0000" in r.stdout
    assert "upload:" in r.stderr  # progress goes to stderr


def test_fail_under_with_a_low_score_exits_1(eb_server):
    sample = _data(eb_server, "public", "sample_submission.csv")
    r = eb_server.cli("submit", BENCH, str(sample), "--fail-under", "0.99", "--json")
    assert r.returncode == 1, r.stderr
    body = json.loads(r.stdout)
    assert body["submission"]["status"] == "scored"
    assert body["check"]["passed"] is False and body["check"]["value"] < 0.99
    assert body["exit_code"] == 1


def test_retried_ci_job_creates_nothing_new(eb_server):
    truth = _data(eb_server, "private", "truth.csv")
    env = {"GITHUB_SHA": "3f786850e387550fdab836ed7e6dc881de23001b"}

    def listing() -> list[dict]:
        r = eb_server.cli("status", "--json", "--limit", "100")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    before = len(listing())
    first = eb_server.cli("submit", BENCH, str(truth), "--wait", "--json", env=env)
    second = eb_server.cli("submit", BENCH, str(truth), "--wait", "--json", env=env)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["created"] is True and b["created"] is False
    assert a["submission"]["id"] == b["submission"]["id"]
    assert a["idempotency_key"] == b["idempotency_key"]
    assert b["submission"]["git_commit"] == env["GITHUB_SHA"]
    assert "nothing new was submitted" in second.stderr
    assert len(listing()) == before + 1
    shown = eb_server.cli("status", str(a["submission"]["id"]))
    assert shown.returncode == 0 and "oa=1.0000" in shown.stdout


def test_malformed_csv_exits_2_with_the_server_message(eb_server, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\ntest_00000,NotAClass\n")
    r = eb_server.cli("submit", BENCH, str(bad), "--wait")
    assert r.returncode == 2, r.stderr
    assert "bad.csv line 2" in r.stderr and "NotAClass" in r.stderr
    assert "failed" in r.stderr


def test_unknown_benchmark_and_bad_token_exit_2(eb_server):
    truth = _data(eb_server, "private", "truth.csv")
    r = eb_server.cli("submit", "no-such-benchmark-v1", str(truth))
    assert r.returncode == 2 and "no-such-benchmark-v1" not in r.stdout
    r = eb_server.cli("quota", BENCH, env={"EARTHBENCH_TOKEN": "eb_wrong"})
    assert r.returncode == 2 and "token" in r.stderr.lower()


def test_leaderboard_in_every_format(eb_server):
    r = eb_server.cli("leaderboard", BENCH, "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    teams = [row["team"] for row in rows]
    assert "Baseline" in teams
    assert {"rank", "team", "oa", "oa_ci_low", "oa_ci_high", "macro_f1"} <= set(rows[0])

    r = eb_server.cli("leaderboard", BENCH, "--format", "json")
    board = json.loads(r.stdout)
    assert board["benchmark"] == BENCH and board["primary_metric"] == "oa"
    assert {row["team"] for row in board["results"]} == set(teams)

    r = eb_server.cli("leaderboard", BENCH)
    assert (
        r.returncode == 0 and "Baseline (baseline)" in r.stdout and "oa ↑" in r.stdout
    )


def test_benchmarks_and_quota(eb_server):
    r = eb_server.cli("benchmarks", env={"EARTHBENCH_TOKEN": ""})
    assert r.returncode == 0 and BENCH in r.stdout
    r = eb_server.cli("quota", BENCH, "--json")
    assert r.returncode == 0, r.stderr
    q = json.loads(r.stdout)
    assert q["benchmark"] == BENCH and q["remaining"] == q["limit"] - q["used"]


def test_missing_token_fails_fast_without_prompting(eb_server):
    truth = _data(eb_server, "private", "truth.csv")
    r = eb_server.cli(
        "submit", BENCH, str(truth), env={"EARTHBENCH_TOKEN": ""}, timeout=30
    )
    assert r.returncode == 2 and "EARTHBENCH_TOKEN is not set" in r.stderr


def test_interrupted_chunked_upload_resumes_on_rerun(eb_server, tmp_path):
    truth = _data(eb_server, "private", "truth.csv")
    assert truth.stat().st_size > 3 * 1024  # several chunks
    cache = tmp_path / "cache"
    argv = ("submit", BENCH, str(truth), "--chunked", "--chunk-size", "1024")
    env = {"XDG_CACHE_HOME": str(cache)}
    # The test hook makes the CLI exit 3 after one chunk, as if the job died.
    first = eb_server.cli(*argv, env={**env, "EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "1"})
    assert first.returncode == 3, first.stderr
    assert "stopped after 1 chunk(s) at byte 1024" in first.stderr
    state = cache / "earthbench" / "uploads.json"
    (entry,) = json.loads(state.read_text()).values()
    upload_url = f"{eb_server.url}/api/v1/uploads/{entry['id']}/"
    auth = {"Authorization": f"Token {eb_server.token}"}
    open_upload = httpx.get(upload_url, headers=auth).json()
    assert open_upload["status"] == "open" and open_upload["offset"] == 1024

    second = eb_server.cli(*argv, "--wait", "--json", env=env)
    assert second.returncode == 0, second.stderr
    assert f"resuming at offset 1024 of {truth.stat().st_size} bytes" in second.stderr
    sub = json.loads(second.stdout)["submission"]
    assert sub["status"] == "scored" and sub["file_name"] == "truth.csv"
    assert sub["file_sha256"] == hashlib.sha256(truth.read_bytes()).hexdigest()
    public = next(s for s in sub["scores"] if s["split"] == "public")
    assert public["primary_value"] == 1.0
    assert httpx.get(upload_url, headers=auth).json()["status"] == "consumed"
    assert json.loads(state.read_text()) == {}


FAKE_DOCKER = """#!/bin/sh
[ "$1" = "save" ] || exit 1
printf 'not-really-an-image-tarball\\n'
"""


def test_push_image_uploads_a_container_submission(eb_server, tmp_path):
    # Last in the module: the worker then tries to run this fake image.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CI_COMMIT_SHA": "ab12"}
    r = eb_server.cli("push-image", "team/model:1", BENCH, "--json", env=env)
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    sub = body["submission"]
    assert sub["kind"] == "container" and sub["file_name"] == "model-1.tar"
    expected = hashlib.sha256(b"not-really-an-image-tarball\n").hexdigest()
    assert sub["file_sha256"] == expected
