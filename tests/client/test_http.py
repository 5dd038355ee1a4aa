"""Retries and backoff of the HTTP layer (httpx.MockTransport, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from earthbench_client.errors import ApiError, NetworkError
from earthbench_client.http import Client, parse_retry_after


def make_client(responses, *, retries=5, sleeps=None, **kw) -> tuple[Client, list]:
    """A client whose transport serves ``responses`` (Response or Exception) in turn."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    sleeps = [] if sleeps is None else sleeps
    client = Client(
        "http://eb.test",
        "tok",
        retries=retries,
        jitter=False,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kw,
    )
    return client, seen


def ok() -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def test_retries_connect_errors_with_exponential_backoff():
    sleeps: list[float] = []
    err = httpx.ConnectError("refused")
    client, seen = make_client([err, err, err, ok()], sleeps=sleeps)
    assert client.get_json("/api/v1/benchmarks/") == {"ok": True}
    assert len(seen) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_backoff_is_capped():
    client, _ = make_client([], max_backoff=5.0)
    assert [client.backoff_delay(i) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jittered_backoff_stays_within_half_to_full_delay():
    client = Client("http://eb.test", jitter=True)
    for attempt in range(4):
        d = client.backoff_delay(attempt)
        assert 0.5 * 2**attempt <= d <= 2**attempt


@pytest.mark.parametrize("status", [502, 503, 504])
def test_retries_gateway_errors(status):
    sleeps: list[float] = []
    client, seen = make_client([httpx.Response(status), ok()], sleeps=sleeps)
    assert client.get_json("/x/") == {"ok": True}
    assert len(seen) == 2 and sleeps == [1.0]


def test_gives_up_after_retries_with_network_error():
    sleeps: list[float] = []
    client, seen = make_client(
        [httpx.ConnectError("refused")] * 3, retries=2, sleeps=sleeps
    )
    with pytest.raises(NetworkError) as info:
        client.get_json("/api/v1/benchmarks/")
    assert len(seen) == 3 and sleeps == [1.0, 2.0]
    assert info.value.exit_code == 3
    assert "failed after 3 tries" in str(info.value)
    assert "http://eb.test/api/v1/benchmarks/" in str(info.value)


def test_persistent_503_ends_as_server_error():
    client, seen = make_client([httpx.Response(503)] * 3, retries=2)
    with pytest.raises(ApiError) as info:
        client.get_json("/x/")
    assert len(seen) == 3
    assert info.value.status == 503 and info.value.exit_code == 3


def test_429_with_retry_after_waits_that_long():
    sleeps: list[float] = []
    busy = httpx.Response(
        429, headers={"Retry-After": "7"}, json={"error": {"message": "slow"}}
    )
    client, seen = make_client([busy, ok()], sleeps=sleeps)
    assert client.get_json("/x/") == {"ok": True}
    assert sleeps == [7.0]


def test_429_without_retry_after_is_not_retried():
    body = {
        "error": {
            "code": "quota_exceeded",
            "message": "daily quota of 10 used",
            "field": None,
        }
    }
    client, seen = make_client([httpx.Response(429, json=body)])
    with pytest.raises(ApiError) as info:
        client.request("POST", "/api/v1/submissions/")
    assert len(seen) == 1
    assert info.value.code == "quota_exceeded" and info.value.exit_code == 3
    assert "daily quota of 10 used" in str(info.value)


def test_retry_after_longer_than_the_cap_is_not_waited_for():
    client, seen = make_client(
        [httpx.Response(429, headers={"Retry-After": "36000"})], max_retry_after=60
    )
    with pytest.raises(ApiError):
        client.get_json("/x/")
    assert len(seen) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_never_retried(status):
    body = {"error": {"code": "invalid", "message": "bad thing", "field": "file"}}
    client, seen = make_client([httpx.Response(status, json=body)])
    with pytest.raises(ApiError) as info:
        client.request("POST", "/api/v1/submissions/")
    assert len(seen) == 1
    assert info.value.exit_code == 2
    assert str(info.value) == "bad thing (field: file)"


def test_500_is_not_retried():
    client, seen = make_client([httpx.Response(500, text="<html>Server Error</html>")])
    with pytest.raises(ApiError) as info:
        client.get_json("/x/")
    assert len(seen) == 1 and info.value.exit_code == 3
    assert "HTTP 500" in str(info.value)


def test_sends_token_header():
    client, seen = make_client([ok()])
    client.get_json("/x/")
    assert seen[0].headers["Authorization"] == "Token tok"


def test_parse_retry_after_forms():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    assert (
        parse_retry_after(
            format_datetime(now - timedelta(seconds=5), usegmt=True), now=now
        )
        == 0.0
    )
