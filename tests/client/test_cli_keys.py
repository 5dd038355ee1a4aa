"""CLI against a fake API: idempotency keys, tokens, output streams, usage errors, streamed uploads."""

from __future__ import annotations

import hashlib
import io
import os

import httpx
import pytest

from earthbench_client.http import Client
from earthbench_client.idempotency import derive_key
from earthbench_client.progress import Progress
from earthbench_client.uploads import UploadRequest, upload_multipart

from .cli_helpers import POST, error
from .conftest import BENCH, scored, submission


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
