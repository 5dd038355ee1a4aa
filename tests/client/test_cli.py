"""CLI behaviour against a fake API: exit codes, retries, idempotency, output."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat

import httpx
import pytest

from earthbench_client.http import Client
from earthbench_client.idempotency import derive_key
from earthbench_client.progress import Progress
from earthbench_client.uploads import UploadRequest, upload_multipart

from .conftest import BENCH, BENCHMARK, scored, submission

POST = ("POST", "/api/v1/submissions/")


@pytest.fixture
def preds(tmp_path):
    p = tmp_path / "preds.csv"
    p.write_text("id,label\ntest_00000,Forest\n")
    return p


def error(status: int, message: str, code: str = "invalid", field=None, **kw):
    body = {"error": {"code": code, "message": message, "field": field}}
    return httpx.Response(status, json=body, **kw)


# ------------------------------------------------------------------ submit & wait


def test_submit_wait_prints_score_and_exits_0(run_cli, fake_api, preds):
    fake_api.polls = [
        submission(status="queued"),
        submission(status="running"),
        scored(oa=0.93),
    ]
    r = run_cli("submit", BENCH, str(preds), "--wait")
    assert r.code == 0, r.err
    assert "oa=0.9300" in r.out and "#7" in r.out
    assert "queued" in r.err and "running" in r.err and "scored" in r.err
    assert len(fake_api.calls("GET", r"/api/v1/submissions/7/")) == 3
    assert r.sleeps == [1.0, 1.5]  # polling backs off


def test_submit_without_wait_returns_after_upload(run_cli, fake_api, preds):
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 0
    assert fake_api.calls("GET", r"/api/v1/submissions/\d+/") == []
    assert "queued" in r.out


def test_upload_sends_fields_and_file(run_cli, fake_api, preds):
    r = run_cli(
        "submit", BENCH, str(preds), "--method-name", "my net", "--git-commit", "abc123"
    )
    assert r.code == 0
    (post,) = fake_api.calls(*POST)
    body = fake_api.bodies[fake_api.requests.index(post)]
    assert b'name="benchmark"\r\n\r\n' + BENCH.encode() in body
    assert b'name="kind"\r\n\r\npredictions' in body
    assert b'name="method_name"\r\n\r\nmy net' in body
    assert b'name="git_commit"\r\n\r\nabc123' in body
    assert b'filename="preds.csv"' in body
    assert preds.read_bytes() in body
    assert post.headers["Authorization"] == "Token tok"


@pytest.mark.parametrize(("threshold", "code"), [(0.95, 1), (0.93, 0), (0.5, 0)])
def test_fail_under_primary_higher_is_better(run_cli, fake_api, preds, threshold, code):
    fake_api.polls = [scored(oa=0.93)]
    r = run_cli("submit", BENCH, str(preds), "--fail-under", str(threshold))
    assert r.code == code
    assert ("FAILED" in r.out) == (code == 1)


@pytest.mark.parametrize(("threshold", "code"), [(1.5, 1), (2.0, 0), (3.0, 0)])
def test_fail_under_lower_is_better_metric(run_cli, fake_api, preds, threshold, code):
    # rmse is declared "min": a value above the threshold is the worse one.
    fake_api.polls = [scored(rmse=2.0)]
    r = run_cli(
        "submit", BENCH, str(preds), "--fail-under", str(threshold), "--metric", "rmse"
    )
    assert r.code == code
    if code == 1:
        assert "at most 1.5" in r.out


def test_fail_under_with_min_primary_metric(run_cli, fake_api, preds):
    fake_api.benchmark["primary_direction"] = "min"
    fake_api.polls = [scored(oa=0.3)]
    assert run_cli("submit", BENCH, str(preds), "--fail-under", "0.2").code == 1
    fake_api.polls = [scored(oa=0.3)]
    assert run_cli("submit", BENCH, str(preds), "--fail-under", "0.4").code == 0


def test_fail_under_implies_wait(run_cli, fake_api, preds):
    fake_api.polls = [submission(status="queued"), scored(oa=0.1)]
    r = run_cli("submit", BENCH, str(preds), "--fail-under", "0.5")
    assert r.code == 1
    assert len(fake_api.calls("GET", r"/api/v1/submissions/7/")) == 2


def test_undefined_score_fails_the_threshold(run_cli, fake_api, preds):
    sub = scored()
    sub["scores"][0]["primary_value"] = None
    sub["scores"][0]["metrics"]["oa"] = None
    fake_api.polls = [sub]
    r = run_cli("submit", BENCH, str(preds), "--fail-under", "0.1")
    assert r.code == 1 and "undefined" in r.out


def test_unknown_metric_is_a_usage_error_before_uploading(run_cli, fake_api, preds):
    r = run_cli("submit", BENCH, str(preds), "--fail-under", "0.5", "--metric", "nope")
    assert r.code == 2
    assert "no metric 'nope'" in r.err and "oa, macro_f1, rmse" in r.err
    assert fake_api.calls(*POST) == []


def test_hidden_split_for_threshold_is_a_usage_error(run_cli, fake_api, preds):
    r = run_cli(
        "submit", BENCH, str(preds), "--fail-under", "0.5", "--split", "private"
    )
    assert r.code == 2
    assert "no visible score on split 'private'" in r.err


def test_failed_validation_exits_2_with_server_message(run_cli, fake_api, preds):
    msg = "preds.csv line 2: label 'Foo' is not one of the 10 classes"
    fake_api.polls = [
        submission(status="running"),
        submission(status="failed", error=msg),
    ]
    r = run_cli("submit", BENCH, str(preds), "--wait")
    assert r.code == 2
    assert f"submission #7 failed: {msg}" in r.err


def test_cancelled_submission_exits_3(run_cli, fake_api, preds):
    fake_api.polls = [submission(status="cancelled")]
    assert run_cli("submit", BENCH, str(preds), "--wait").code == 3


def test_wait_timeout_exits_3(run_cli, fake_api, preds):
    fake_api.polls = [submission(status="running")]
    r = run_cli("submit", BENCH, str(preds), "--wait", "--timeout", "5")
    assert r.code == 3
    assert "still running after 5 s" in r.err and "earthbench status 7" in r.err
    assert sum(r.sleeps) == pytest.approx(5.0)


def test_rejected_upload_exits_2_with_message(run_cli, fake_api, preds):
    fake_api.add(
        *POST, error(400, "eurosat accepts model containers only", field="kind")
    )
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 2
    assert "eurosat accepts model containers only (field: kind)" in r.err
    assert len(fake_api.calls(*POST)) == 1


def test_unknown_benchmark_exits_2_without_uploading(run_cli, fake_api, preds):
    r = run_cli("submit", "no-such-bench", str(preds))
    assert r.code == 2 and "Not found" in r.err
    assert fake_api.calls(*POST) == []


def test_missing_file_exits_2_without_network(run_cli, fake_api, tmp_path):
    r = run_cli("submit", BENCH, str(tmp_path / "nope.csv"))
    assert r.code == 2 and "no such file" in r.err
    assert fake_api.requests == []


def test_containers_only_benchmark_refuses_predictions_early(run_cli, fake_api, preds):
    fake_api.benchmark["accepts_predictions"] = False
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 2 and "push-image" in r.err
    assert fake_api.calls(*POST) == []


def test_bad_token_exits_2(run_cli, fake_api, preds):
    fake_api.add(
        "GET",
        r"/api/v1/benchmarks/.*",
        error(401, "Invalid, expired or revoked token.", "authentication_failed"),
    )
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 2 and "revoked token" in r.err


def test_quota_exceeded_exits_3_without_retrying(run_cli, fake_api, preds):
    fake_api.add(
        *POST, error(429, "daily quota of 10 submissions used", "quota_exceeded")
    )
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 3 and "daily quota" in r.err
    assert len(fake_api.calls(*POST)) == 1


def test_upload_retried_on_gateway_error_with_the_same_key(run_cli, fake_api, preds):
    fake_api.add(*POST, httpx.Response(502), httpx.ConnectError("reset"))
    r = run_cli("submit", BENCH, str(preds), env={"GITHUB_SHA": "c0ffee"})
    assert r.code == 0, r.err
    posts = fake_api.calls(*POST)
    assert len(posts) == 3
    keys = {p.headers["Idempotency-Key"] for p in posts}
    assert len(keys) == 1
    # Each try sent the whole file again (the body is replayed from byte 0).
    for p in posts:
        assert preds.read_bytes() in fake_api.bodies[fake_api.requests.index(p)]
    assert r.sleeps[:2] and all(s > 0 for s in r.sleeps[:2])


def test_server_down_exits_3_after_retries(run_cli, fake_api, preds):
    fake_api.add("GET", r"/api/v1/benchmarks/.*", *[httpx.ConnectError("refused")] * 6)
    r = run_cli("submit", BENCH, str(preds))
    assert r.code == 3
    assert "failed after 6 tries" in r.err
    assert len(r.sleeps) == 5


def test_retries_are_configurable(run_cli, fake_api, preds):
    fake_api.add("GET", r"/api/v1/benchmarks/.*", *[httpx.ConnectError("refused")] * 2)
    r = run_cli("benchmarks", env={"EARTHBENCH_RETRIES": "1"})
    assert r.code == 3 and len(r.sleeps) == 1


# ------------------------------------------------------------------ idempotency


def _sent_key(fake_api) -> str | None:
    (post,) = fake_api.calls(*POST)
    return post.headers.get("Idempotency-Key")


@pytest.mark.parametrize("var", ["GITHUB_SHA", "CI_COMMIT_SHA"])
def test_ci_commit_derives_the_idempotency_key(run_cli, fake_api, preds, var):
    r = run_cli("submit", BENCH, str(preds), env={var: "0123abcd"})
    assert r.code == 0
    sha = hashlib.sha256(preds.read_bytes()).hexdigest()
    assert _sent_key(fake_api) == derive_key(
        commit="0123abcd", benchmark=BENCH, sha256=sha, kind="predictions"
    )
    # The commit is also recorded as metadata.
    (post,) = fake_api.calls(*POST)
    assert (
        b'name="git_commit"\r\n\r\n0123abcd'
        in fake_api.bodies[fake_api.requests.index(post)]
    )


def test_retried_ci_job_sends_the_same_key(run_cli, fake_api, preds):
    env = {"GITHUB_SHA": "0123abcd"}
    run_cli("submit", BENCH, str(preds), env=env)
    fake_api.add(*POST, httpx.Response(200, json=submission()))
    r = run_cli("submit", BENCH, str(preds), "--json", env=env)
    k1, k2 = (p.headers["Idempotency-Key"] for p in fake_api.calls(*POST))
    assert k1 == k2
    assert r.json()["created"] is False
    assert "nothing new was submitted" in r.err


def test_explicit_key_wins(run_cli, fake_api, preds):
    run_cli(
        "submit",
        BENCH,
        str(preds),
        "--idempotency-key",
        "mine-1",
        env={"GITHUB_SHA": "0123abcd"},
    )
    assert _sent_key(fake_api) == "mine-1"


def test_outside_ci_each_run_gets_its_own_key(run_cli, fake_api, preds):
    run_cli("submit", BENCH, str(preds))
    run_cli("submit", BENCH, str(preds))
    k1, k2 = (p.headers["Idempotency-Key"] for p in fake_api.calls(*POST))
    assert k1.startswith("cli-") and k2.startswith("cli-") and k1 != k2


def test_empty_key_disables_the_ci_default(run_cli, fake_api, preds):
    run_cli(
        "submit",
        BENCH,
        str(preds),
        "--idempotency-key",
        "",
        env={"GITHUB_SHA": "0123abcd"},
    )
    assert _sent_key(fake_api).startswith("cli-")


def test_key_conflict_exits_2(run_cli, fake_api, preds):
    fake_api.add(
        *POST,
        error(
            409,
            "Idempotency-Key was already used for a different request (submission #3)",
            "idempotency_conflict",
        ),
    )
    r = run_cli("submit", BENCH, str(preds), env={"CI_COMMIT_SHA": "0123abcd"})
    assert r.code == 2 and "already used" in r.err


# ------------------------------------------------------------------ token & output


def test_missing_token_never_prompts_without_a_tty(
    run_cli, fake_api, preds, monkeypatch
):
    def no_prompt(*a, **k):
        raise AssertionError("prompted")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    r = run_cli("submit", BENCH, str(preds), env={"EARTHBENCH_TOKEN": ""})
    assert r.code == 2 and "EARTHBENCH_TOKEN is not set" in r.err
    assert fake_api.requests == []


def test_missing_token_prompts_on_a_tty(run_cli, fake_api, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: "typed-token")
    fake_api.add(
        "GET",
        r"/api/v1/me/quota/",
        httpx.Response(
            200,
            json={
                "benchmark": BENCH,
                "limit": 10,
                "used": 1,
                "remaining": 9,
                "in_flight": 0,
                "max_in_flight": 3,
                "resets_at": "2030-01-02T00:00:00Z",
            },
        ),
    )
    r = run_cli("quota", BENCH, env={"EARTHBENCH_TOKEN": ""}, isatty=True)
    assert r.code == 0
    assert fake_api.requests[0].headers["Authorization"] == "Token typed-token"
    assert "9 of 10 submissions left" in r.out


def test_public_commands_work_without_a_token(run_cli, fake_api):
    r = run_cli("benchmarks", env={"EARTHBENCH_TOKEN": ""})
    assert r.code == 0 and BENCH in r.out
    assert "Authorization" not in fake_api.requests[0].headers


def test_json_output_is_on_stdout_and_progress_on_stderr(run_cli, fake_api, preds):
    fake_api.polls = [scored(oa=0.4)]
    r = run_cli("submit", BENCH, str(preds), "--json", "--fail-under", "0.5")
    body = r.json()
    assert r.code == 1 and body["exit_code"] == 1
    assert body["submission"]["status"] == "scored"
    assert body["check"] == {
        "metric": "oa",
        "split": "public",
        "direction": "max",
        "threshold": 0.5,
        "value": 0.4,
        "passed": False,
    }
    assert body["created"] is True and body["idempotency_key"].startswith("cli-")
    assert "upload:" in r.err and "upload" not in r.out


def test_json_error_output(run_cli, fake_api, preds):
    r = run_cli("submit", "missing", str(preds), "--json")
    assert r.code == 2
    assert r.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": "Not found.",
            "field": None,
        },
        "exit_code": 2,
    }


def test_quiet_suppresses_progress(run_cli, fake_api, preds):
    r = run_cli("submit", BENCH, str(preds), "-q")
    assert r.code == 0 and r.err == ""


def test_bad_url_is_a_usage_error(run_cli):
    r = run_cli("benchmarks", env={"EARTHBENCH_URL": "eb.test"})
    assert r.code == 2 and "http://" in r.err


def test_argparse_usage_errors_exit_2(run_cli):
    with pytest.raises(SystemExit) as info:
        run_cli("submit", BENCH)
    assert info.value.code == 2


# ------------------------------------------------------------------ streaming


def test_upload_streams_the_file_in_chunks(tmp_path):
    big = tmp_path / "big.csv"
    payload = os.urandom(3 * 1024 * 1024 + 17)
    big.write_bytes(payload)
    seen: list[httpx.Request] = []
    received = bytearray()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        for chunk in request.stream:  # consume as a server would
            received.extend(chunk)
        return httpx.Response(201, json=submission())

    client = Client("http://eb.test", transport=httpx.MockTransport(handler))
    err = io.StringIO()
    progress = Progress("upload", stream=err, interactive=False)
    result = upload_multipart(
        client, UploadRequest(benchmark=BENCH, path=big), progress=progress
    )
    assert result.created
    # Read 64 KiB at a time, never the whole file.
    assert 0 < result.max_read <= 64 * 1024
    # A Content-Length is sent (the dev server cannot read chunked bodies).
    assert "transfer-encoding" not in seen[0].headers
    assert int(seen[0].headers["Content-Length"]) == len(received)
    assert payload in bytes(received)
    lines = err.getvalue().splitlines()
    assert lines[-1].endswith("(100%)") and len(lines) <= 12


# ------------------------------------------------------------------ other commands


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
