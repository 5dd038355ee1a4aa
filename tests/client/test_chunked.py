"""Resumable chunked uploads against the fake API: dropped connections, 409s,
re-runs after a crash, and the state file that makes those re-runs resume."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat

import httpx
import pytest

from earthbench_client import cli, parser
from earthbench_client.http import Client
from earthbench_client.idempotency import derive_key
from earthbench_client.progress import Progress
from earthbench_client.resume import UploadState, state_path
from earthbench_client.uploads import (
    READ_BLOCK,
    ChunkedOptions,
    UploadRequest,
    upload_chunked,
)

from .conftest import BENCH, Drop, FakeUpload, scored

UPLOADS = r"/api/v1/uploads/"
ONE = r"/api/v1/uploads/[^/]+/"
SUBMIT = ("POST", "/api/v1/submissions/")
SIZE = 10_000
CHUNK = 3_000


@pytest.fixture
def data(tmp_path):
    """A 10 000-byte predictions file: 4 chunks of 3 000 bytes (the last 1 000)."""
    payload = os.urandom(SIZE)
    path = tmp_path / "preds.csv"
    path.write_bytes(payload)
    return path, payload, hashlib.sha256(payload).hexdigest()


def chunked(*extra: str) -> tuple[str, ...]:
    return ("--chunked", "--chunk-size", str(CHUNK), *extra)


def put_offsets(fake_api) -> list[int]:
    return [int(r.headers["Upload-Offset"]) for r in fake_api.calls("PUT", ONE)]


def the_upload(fake_api) -> FakeUpload:
    (up,) = fake_api.uploads.values()
    return up


def saved(cache_dir) -> dict:
    path = cache_dir / "earthbench" / "uploads.json"
    return json.loads(path.read_text()) if path.exists() else {}


def submitted_upload_field(fake_api) -> bytes:
    (post,) = fake_api.calls(*SUBMIT)
    return fake_api.bodies[fake_api.requests.index(post)]


# ------------------------------------------------------------------ happy path


def test_chunked_upload_sends_chunks_completes_and_submits(
    run_cli, fake_api, data, cache_dir
):
    path, payload, sha = data
    r = run_cli("submit", BENCH, str(path), *chunked("--method-name", "net"))
    assert r.code == 0, r.err
    up = the_upload(fake_api)
    assert bytes(up.data) == payload and up.status == "consumed"
    assert put_offsets(fake_api) == [0, 3000, 6000, 9000]
    for put in fake_api.calls("PUT", ONE):
        # Each chunk has a Content-Length (the dev server cannot read chunked bodies).
        assert "transfer-encoding" not in put.headers
        assert int(put.headers["Content-Length"]) == len(put.content) <= CHUNK
    (done,) = fake_api.calls("POST", ONE + "complete/")
    assert json.loads(done.content) == {"sha256": sha}
    body = submitted_upload_field(fake_api)
    assert b'name="upload"\r\n\r\n' + up.id.encode() in body
    assert b'name="method_name"\r\n\r\nnet' in body and b"filename=" not in body
    assert "upload: " in r.err and "(100%)" in r.err
    assert saved(cache_dir) == {}  # the submission exists: nothing to resume


def test_files_over_the_threshold_are_chunked_by_default(
    run_cli, fake_api, data, monkeypatch
):
    path, payload, _ = data
    monkeypatch.setattr(cli, "CHUNKED_THRESHOLD", SIZE)
    assert run_cli("submit", BENCH, str(path), "--chunk-size", "4K").code == 0
    assert bytes(the_upload(fake_api).data) == payload
    assert put_offsets(fake_api) == [0, 4096, 8192]


def test_small_files_and_no_chunked_use_one_request(
    run_cli, fake_api, data, monkeypatch
):
    path, payload, _ = data
    assert run_cli("submit", BENCH, str(path)).code == 0  # under the 32 MiB default
    monkeypatch.setattr(cli, "CHUNKED_THRESHOLD", 1)
    assert run_cli("submit", BENCH, str(path), "--no-chunked").code == 0
    assert fake_api.uploads == {} and fake_api.calls("PUT", ONE) == []
    assert all(
        payload in fake_api.bodies[fake_api.requests.index(p)]
        for p in fake_api.calls(*SUBMIT)
    )


# ------------------------------------------------------------------ resuming in one run


def test_connection_dropped_mid_chunk_resumes_from_the_server_offset(
    run_cli, fake_api, data
):
    path, payload, sha = data
    # The 2nd PUT: the server stores 1234 of its 3000 bytes, then the link dies.
    fake_api.put_faults[2] = Drop(keep=1234, exc=httpx.ReadError("connection reset"))
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert put_offsets(fake_api) == [0, 3000, 4234, 7234]  # never from zero again
    # It asked the server where to continue before the 3rd PUT.
    kinds = [(q.method, q.url.path) for q in fake_api.requests]
    second_put = [i for i, k in enumerate(kinds) if k[0] == "PUT"][1]
    assert kinds[second_put + 1][0] == "GET"
    assert "ReadError: connection reset" in r.err
    assert "resuming at offset 4234 of 10000 bytes" in r.err
    assert len(r.sleeps) == 1 and r.sleeps[0] <= 1.0  # one backoff
    up = the_upload(fake_api)
    assert hashlib.sha256(up.data).hexdigest() == sha and bytes(up.data) == payload


def test_a_5xx_chunk_is_retried_from_the_offset(run_cli, fake_api, data):
    path, payload, _ = data
    fake_api.put_faults[3] = Drop(keep=0, status=500)
    fake_api.put_faults[4] = Drop(keep=0, status=503)
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert put_offsets(fake_api) == [0, 3000, 6000, 6000, 6000, 9000]
    assert "server answered 500" in r.err and "server answered 503" in r.err
    assert bytes(the_upload(fake_api).data) == payload


def test_409_offset_mismatch_rereads_the_offset(run_cli, fake_api, data):
    path, payload, _ = data
    # The chunk did arrive, but the client only sees a 409 (as when an attempt it
    # thought lost was stored): it must re-read the offset, not resend or give up.
    fake_api.put_faults[2] = Drop(keep=None, status=409)
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert put_offsets(fake_api) == [0, 3000, 6000, 9000]
    assert "offset mismatch (resume from 6000)" in r.err
    assert r.sleeps == []  # nothing to wait for
    assert bytes(the_upload(fake_api).data) == payload


def test_partial_progress_does_not_use_up_the_retries(run_cli, fake_api, data):
    path, payload, _ = data
    for n in (1, 2, 3, 4):
        fake_api.put_faults[n] = Drop(keep=2000, exc=httpx.WriteError("broken pipe"))
    r = run_cli("submit", BENCH, str(path), *chunked(), env={"EARTHBENCH_RETRIES": "1"})
    assert r.code == 0, r.err
    assert put_offsets(fake_api)[:5] == [0, 2000, 4000, 6000, 8000]
    assert bytes(the_upload(fake_api).data) == payload


def test_gives_up_with_exit_3_and_the_next_run_resumes(
    run_cli, fake_api, data, cache_dir
):
    path, payload, sha = data
    for n in range(2, 10):
        fake_api.put_faults[n] = Drop(keep=0, exc=httpx.ConnectError("refused"))
    r = run_cli("submit", BENCH, str(path), *chunked(), env={"EARTHBENCH_RETRIES": "2"})
    assert r.code == 3
    assert "stopped at byte 3000 of 10000 after 3 tries" in r.err
    assert "run the same command again to resume" in r.err
    up = the_upload(fake_api)
    (entry,) = saved(cache_dir).values()
    assert entry["id"] == up.id

    fake_api.put_faults.clear()
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert "resuming at offset 3000 of 10000 bytes" in r.err
    assert len(fake_api.calls("POST", UPLOADS)) == 1  # the same upload, continued
    assert hashlib.sha256(up.data).hexdigest() == sha and up.status == "consumed"
    assert saved(cache_dir) == {}


# ------------------------------------------------------------------ resuming across runs


def test_rerun_after_a_crash_resumes_the_saved_upload(
    run_cli, fake_api, data, cache_dir
):
    path, payload, sha = data
    hook = {"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "2"}
    r = run_cli("submit", BENCH, str(path), *chunked(), env=hook)
    assert r.code == 3 and "stopped after 2 chunk(s) at byte 6000" in r.err
    assert fake_api.calls(*SUBMIT) == []
    up = the_upload(fake_api)
    key = UploadState.key("http://eb.test", sha, SIZE)
    assert saved(cache_dir)[key]["id"] == up.id

    r = run_cli("submit", BENCH, str(path), *chunked("--json"))
    assert r.code == 0, r.err
    assert f"resuming at offset 6000 of 10000 bytes (upload {up.id}" in r.err
    assert put_offsets(fake_api) == [0, 3000, 6000, 9000]
    assert len(fake_api.uploads) == 1
    assert bytes(up.data) == payload and r.json()["created"] is True
    assert saved(cache_dir) == {}


def test_saved_state_is_per_server_and_file(run_cli, fake_api, data, cache_dir):
    path, _, _ = data
    hook = {"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "1"}
    assert run_cli("submit", BENCH, str(path), *chunked(), env=hook).code == 3
    # Another server, or another file, does not pick up that upload.
    other = {"EARTHBENCH_URL": "http://other.test"}
    assert run_cli("submit", BENCH, str(path), *chunked(), env=other).code == 0
    path.write_bytes(os.urandom(SIZE))
    assert run_cli("submit", BENCH, str(path), *chunked()).code == 0
    assert len(fake_api.uploads) == 3
    assert len(saved(cache_dir)) == 1  # only the interrupted one is left


@pytest.mark.parametrize("status", ["consumed", "gone"])
def test_an_unusable_saved_upload_starts_a_new_one(
    run_cli, fake_api, data, cache_dir, status
):
    path, payload, _ = data
    hook = {"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "1"}
    assert run_cli("submit", BENCH, str(path), *chunked(), env=hook).code == 3
    first = the_upload(fake_api)
    if status == "gone":  # expired on the server
        del fake_api.uploads[first.id]
    else:
        first.status = "consumed"
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert "resuming" not in r.err
    new = fake_api.uploads[max(fake_api.uploads)]
    assert new.id != first.id and bytes(new.data) == payload
    assert saved(cache_dir) == {}


def test_a_saved_complete_upload_is_submitted_without_resending(
    run_cli, fake_api, data, cache_dir
):
    path, _, sha = data
    fake_api.add(*SUBMIT, httpx.Response(429, json={"error": {"message": "quota"}}))
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 3 and the_upload(fake_api).status == "complete"
    puts = len(fake_api.calls("PUT", ONE))
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 0, r.err
    assert "is complete; submitting it" in r.err
    assert len(fake_api.calls("PUT", ONE)) == puts
    assert the_upload(fake_api).status == "consumed"


def test_a_sha256_mismatch_is_exit_2_and_forgets_the_upload(
    run_cli, fake_api, data, cache_dir
):
    path, _, _ = data
    hook = {"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "1"}
    assert run_cli("submit", BENCH, str(path), *chunked(), env=hook).code == 3
    up = the_upload(fake_api)
    up.data[:10] = b"corrupted!"  # the server's copy is not this file any more
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 2 and "sha256 mismatch" in r.err
    assert saved(cache_dir) == {} and fake_api.calls(*SUBMIT) == []


def test_ci_rerun_sends_the_same_idempotency_key(run_cli, fake_api, data):
    path, _, sha = data
    env = {"GITHUB_SHA": "feed", "EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "1"}
    assert run_cli("submit", BENCH, str(path), *chunked(), env=env).code == 3
    r = run_cli("submit", BENCH, str(path), *chunked(), env={"GITHUB_SHA": "feed"})
    assert r.code == 0, r.err
    (post,) = fake_api.calls(*SUBMIT)
    assert post.headers["Idempotency-Key"] == derive_key(
        commit="feed", benchmark=BENCH, sha256=sha, kind="predictions"
    )


# ------------------------------------------------------------------ other paths


def test_server_without_chunked_uploads(run_cli, fake_api, data, monkeypatch):
    path, payload, _ = data
    monkeypatch.setattr(cli, "CHUNKED_THRESHOLD", 1)
    not_found = httpx.Response(404, json={"error": {"message": "Not found."}})
    fake_api.add("POST", UPLOADS, not_found, not_found)
    r = run_cli("submit", BENCH, str(path))  # automatic: falls back to one POST
    assert r.code == 0, r.err
    assert "no chunked upload endpoint; sending the file in one request" in r.err
    (post,) = fake_api.calls(*SUBMIT)
    assert payload in fake_api.bodies[fake_api.requests.index(post)]
    r = run_cli("submit", BENCH, str(path), "--chunked")  # explicit: an error
    assert r.code == 2 and "no chunked upload endpoint" in r.err


def test_a_4xx_chunk_is_not_retried(run_cli, fake_api, data):
    path, _, _ = data
    refused = httpx.Response(400, json={"error": {"message": "chunk too large"}})
    fake_api.add("PUT", ONE, refused)
    r = run_cli("submit", BENCH, str(path), *chunked())
    assert r.code == 2 and "chunk too large" in r.err
    assert len(fake_api.calls("PUT", ONE)) == 1 and r.sleeps == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("4096", 4096), ("512K", 512 << 10), ("16M", 16 << 20), ("8MiB", 8 << 20)],
)
def test_chunk_size_values(text, value):
    assert parser.chunk_size(text) == value


@pytest.mark.parametrize("text", ["0", "65M", "1G", "lots", "-5"])
def test_bad_chunk_sizes_are_usage_errors(run_cli, data, text):
    path, _, _ = data
    with pytest.raises(SystemExit) as info:
        run_cli("submit", BENCH, str(path), "--chunk-size", text)
    assert info.value.code == 2


def test_a_bad_abort_hook_value_is_a_usage_error(run_cli, fake_api, data):
    path, _, _ = data
    env = {"EARTHBENCH_TEST_ABORT_AFTER_CHUNKS": "soon"}
    r = run_cli("submit", BENCH, str(path), *chunked(), env=env)
    assert r.code == 2 and "EARTHBENCH_TEST_ABORT_AFTER_CHUNKS" in r.err
    assert fake_api.uploads == {}


def test_chunks_are_streamed_from_disk(fake_api, tmp_path):
    big = tmp_path / "big.bin"
    payload = os.urandom(3 * READ_BLOCK + 5)
    big.write_bytes(payload)
    client = Client("http://eb.test", transport=httpx.MockTransport(fake_api))
    err = io.StringIO()
    result = upload_chunked(
        client,
        UploadRequest(benchmark=BENCH, path=big),
        sha256=hashlib.sha256(payload).hexdigest(),
        options=ChunkedOptions(chunk_size=2 * READ_BLOCK + 1),
        progress=Progress("upload", stream=err, interactive=False),
    )
    assert result.created and result.upload_id == the_upload(fake_api).id
    assert bytes(the_upload(fake_api).data) == payload
    assert 0 < result.max_read <= READ_BLOCK  # never a whole chunk in memory
    assert err.getvalue().splitlines()[-1].endswith("(100%)")


FAKE_DOCKER = """#!/bin/sh
[ "$1" = "save" ] || exit 1
printf 'FAKE-IMAGE-TARBALL\\n'
head -c 20000 /dev/zero
"""


def test_push_image_can_upload_in_chunks(run_cli, fake_api, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "docker"
    exe.write_text(FAKE_DOCKER)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    fake_api.polls = [scored(kind="container")]
    fake_api.put_faults[2] = Drop(keep=100, exc=httpx.ReadError("reset"))
    r = run_cli("push-image", "team/model:1", BENCH, *chunked("--wait"))
    assert r.code == 0, r.err
    up = the_upload(fake_api)
    assert up.filename == "model-1.tar"
    assert bytes(up.data) == b"FAKE-IMAGE-TARBALL\n" + b"\0" * 20000
    assert "resuming at offset 3100" in r.err
    assert b'name="kind"\r\n\r\ncontainer' in submitted_upload_field(fake_api)


# ------------------------------------------------------------------ the state file


def test_state_path_follows_xdg(tmp_path):
    assert state_path({"XDG_CACHE_HOME": str(tmp_path)}) == (
        tmp_path / "earthbench" / "uploads.json"
    )
    # A relative XDG_CACHE_HOME is ignored, as the spec says.
    assert state_path({"XDG_CACHE_HOME": "rel", "HOME": str(tmp_path)}) == (
        tmp_path / ".cache" / "earthbench" / "uploads.json"
    )


def test_state_survives_a_corrupt_file_and_expires_old_entries(tmp_path):
    path = tmp_path / "uploads.json"
    path.write_text("{not json")
    notes: list[str] = []
    now = [1_000_000.0]
    state = UploadState(path, log=notes.append, clock=lambda: now[0])
    assert state.get("http://a", "ab" * 32, 5) is None and "unreadable" in notes[0]
    state.put("http://a/", "AB" * 32, 5, "id-1")
    assert state.get("http://a", "ab" * 32, 5) == "id-1"  # normalised key
    assert state.get("http://a", "ab" * 32, 6) is None
    now[0] += 8 * 24 * 3600
    state.put("http://b", "cd" * 32, 5, "id-2")  # saving drops week-old entries
    assert state.get("http://a", "ab" * 32, 5) is None
    state.remove("http://b", "cd" * 32, 5)
    assert json.loads(path.read_text()) == {}


def test_an_unwritable_cache_does_not_stop_the_upload(
    run_cli, fake_api, data, tmp_path
):
    path, payload, _ = data
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    r = run_cli(
        "submit", BENCH, str(path), *chunked(), env={"XDG_CACHE_HOME": str(blocker)}
    )
    assert r.code == 0, r.err
    assert "upload state" in r.err  # one note, then it carries on
    assert bytes(the_upload(fake_api).data) == payload
