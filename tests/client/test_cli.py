"""CLI submissions against a fake API: waiting, thresholds, exit codes, retries."""

from __future__ import annotations

import httpx
import pytest

from .cli_helpers import POST, error
from .conftest import BENCH, scored, submission

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
