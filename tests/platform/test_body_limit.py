"""Oversize request bodies are refused before anything parses them (issue 18).

The bodies are generated lazily (never held in memory) and are far over the
limit; the stream records how much the server read and how many bytes sat in
the upload temp directory while it did."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test.client import ClientHandler, RequestFactory

from earthbench.submissions import uploads

GIB = 1024**3
BOUNDARY = "xYzBoUnDaRy"


def temp_bytes() -> int:
    root = Path(settings.FILE_UPLOAD_TEMP_DIR)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


class HugeBody(io.RawIOBase):
    """``size`` bytes of a multipart file part, produced on demand. Stops (EOF)
    after ``tripwire`` bytes so a server that reads everything fails fast."""

    def __init__(self, size: int, tripwire: int = 64 * 1024**2):
        self.size, self.tripwire, self.read_bytes, self.max_temp = size, tripwire, 0, 0
        self.head = (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.max_temp = max(self.max_temp, temp_bytes())
        n = 1 << 16 if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes, self.tripwire - self.read_bytes)
        if n <= 0:
            return b""
        start = self.read_bytes
        self.read_bytes += n
        head = self.head[start : start + n]
        return head + b"a" * (n - len(head))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def call(method: str, path: str, body: HugeBody, *, length: int | None, chunked=False, **meta):
    env = RequestFactory()._base_environ(
        REQUEST_METHOD=method,
        PATH_INFO=path,
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        **meta,
    )
    env["wsgi.input"] = body
    env.pop("CONTENT_LENGTH", None)
    if length is not None:
        env["CONTENT_LENGTH"] = str(length)
    if chunked:
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
        env["wsgi.input_terminated"] = True
    return ClientHandler(enforce_csrf_checks=True)(env)


def test_upload_temp_dir_is_on_the_storage_volume():
    assert Path(settings.FILE_UPLOAD_TEMP_DIR).is_relative_to(settings.EARTHBENCH_STORAGE_DIR)
    assert Path(settings.FILE_UPLOAD_TEMP_DIR).is_dir()


def test_anonymous_multipart_with_csrf_cookie_is_refused_before_parsing(eurosat):
    """The issue's attack: a self-chosen csrftoken cookie made the CSRF middleware
    parse (and spool to disk) a 3 GB body before answering 403."""
    body = HugeBody(3 * GIB)
    resp = call(
        "POST", f"/benchmarks/{eurosat.slug}/submit/", body, length=3 * GIB,
        HTTP_COOKIE="csrftoken=" + "a" * 32,
    )
    assert resp.status_code == 413, resp.content[:300]
    assert body.read_bytes == 0
    assert body.max_temp == 0 and temp_bytes() == 0
    assert "log in" in resp.content.decode()


def test_anonymous_api_post_over_the_limit_is_413_json(eurosat):
    body = HugeBody(GIB)
    resp = call("POST", "/api/v1/submissions/", body, length=GIB)
    assert resp.status_code == 413
    assert json.loads(resp.content)["error"]["code"] == "too_large"
    assert body.read_bytes == 0


def test_anonymous_chunked_body_needs_a_length(eurosat):
    body = HugeBody(3 * GIB)
    resp = call(
        "POST", f"/benchmarks/{eurosat.slug}/submit/", body, length=None, chunked=True,
        HTTP_COOKIE="csrftoken=" + "a" * 32,
    )
    assert resp.status_code == 411
    assert body.read_bytes == 0 and body.max_temp == 0


def test_invalid_token_is_anonymous(eurosat):
    body = HugeBody(GIB)
    resp = call("POST", "/api/v1/submissions/", body, length=GIB, HTTP_AUTHORIZATION="Token nope")
    assert resp.status_code == 413 and body.read_bytes == 0


def test_authenticated_over_its_own_limit_is_413(api, settings):
    settings.EARTHBENCH_MAX_BODY_BYTES = 8 * 1024**2
    body = HugeBody(GIB)
    resp = call("POST", "/api/v1/submissions/", body, length=GIB,
                HTTP_AUTHORIZATION=f"Token {api.key}")
    assert resp.status_code == 413 and body.read_bytes == 0
    assert "log in" not in json.loads(resp.content)["error"]["message"]


def test_authenticated_chunked_put_is_capped_while_streaming(api, user, settings):
    """No Content-Length: the bytes are counted as they stream; past the limit
    the request ends with 413, the upload's offset is unchanged."""
    settings.EARTHBENCH_MAX_BODY_BYTES = 4 * 1024**2
    up = uploads.upload_create(user=user, filename="big.tar", size=GIB)
    body = HugeBody(GIB)
    resp = call("PUT", f"/api/v1/uploads/{up.uuid}/", body, length=None, chunked=True,
                HTTP_AUTHORIZATION=f"Token {api.key}", HTTP_UPLOAD_OFFSET="0")
    assert resp.status_code == 413, resp.content[:300]
    assert body.read_bytes <= 4 * 1024**2 + (1 << 20) + 1
    up.refresh_from_db()
    assert up.offset == 0
    assert body.max_temp == 0


def test_authenticated_chunked_put_within_the_limit_is_stored(api, user):
    up = uploads.upload_create(user=user, filename="p.csv", size=3 * 1024**2)
    body = HugeBody(3 * 1024**2)
    resp = call("PUT", f"/api/v1/uploads/{up.uuid}/", body, length=None, chunked=True,
                HTTP_AUTHORIZATION=f"Token {api.key}", HTTP_UPLOAD_OFFSET="0")
    assert resp.status_code == 200, resp.content[:300]
    assert json.loads(resp.content)["offset"] == 3 * 1024**2


def test_authenticated_upload_above_the_anonymous_limit_still_works(api, eurosat, perfect_csv):
    """A 2 MiB prediction file (over the 1 MiB anonymous limit) from a token."""
    assert len(perfect_csv) < settings.EARTHBENCH_ANON_MAX_BODY_BYTES
    padded = perfect_csv + b"\n" * (2 * 1024**2)
    assert len(padded) > settings.EARTHBENCH_ANON_MAX_BODY_BYTES
    f = io.BytesIO(padded)
    f.name = "p.csv"
    resp = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": f}, format="multipart")
    assert resp.status_code == 201, resp.content[:300]


def test_anonymous_small_form_post_is_untouched(transactional_db, client):
    resp = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert resp.status_code == 200  # the form again, with its error


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_bad_content_length(transactional_db, value):
    env = RequestFactory()._base_environ(REQUEST_METHOD="POST", PATH_INFO="/api/v1/submissions/")
    env["CONTENT_LENGTH"] = value
    env["wsgi.input"] = io.BytesIO(b"")
    resp = ClientHandler()(env)
    assert resp.status_code == 400


def test_session_cookie_is_resolved_before_the_body(client, user, eurosat, settings):
    """A logged-in session gets the authenticated limit; a made-up one does not."""
    settings.EARTHBENCH_MAX_BODY_BYTES = 8 * 1024**2
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    body = HugeBody(GIB)
    resp = call("POST", f"/benchmarks/{eurosat.slug}/submit/", body, length=GIB,
                HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={'a' * 32}")
    assert resp.status_code == 413 and body.read_bytes == 0
    assert "8388608" in resp.content.decode() and "log in" not in resp.content.decode()
    # Within the authenticated limit the body goes on to the view (CSRF refuses it here).
    body = HugeBody(2 * 1024**2)
    resp = call("POST", f"/benchmarks/{eurosat.slug}/submit/", body, length=2 * 1024**2,
                HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={'a' * 32}")
    assert resp.status_code == 403 and body.read_bytes > 0
    body = HugeBody(2 * 1024**2)
    resp = call("POST", f"/benchmarks/{eurosat.slug}/submit/", body, length=2 * 1024**2,
                HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}=madeup; csrftoken={'a' * 32}")
    assert resp.status_code == 413 and body.read_bytes == 0


def test_signed_in_large_body_to_a_route_that_takes_no_upload_is_413(client, user, eurosat, api):
    """The large upload limit holds only where uploads go: a signed-in participant
    posting a huge multipart body to any other form (here the team tab) would make
    the CSRF check spool it to disk."""
    from django.urls import get_resolver

    from earthbench.guards import UPLOAD_ROUTES

    names = {k for k in get_resolver().reverse_dict.keys() if isinstance(k, str)}
    assert UPLOAD_ROUTES <= names  # no stale route name silently drops the large limit
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    for path, cookie in (
        (f"/benchmarks/{eurosat.slug}/team/leave/",
         f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={'a' * 32}"),
        (f"/api/v1/benchmarks/{eurosat.slug}/team/", None),
    ):
        body = HugeBody(GIB)
        extra = {"HTTP_COOKIE": cookie} if cookie else {"HTTP_AUTHORIZATION": f"Token {api.key}"}
        resp = call("POST", path, body, length=GIB, **extra)
        assert resp.status_code == 413, (path, resp.content[:300])
        assert body.read_bytes == 0 and temp_bytes() == 0
