"""HTTP with retries: exponential backoff on transient failures only.

Retried: connection/transport errors, 502/503/504, and 429 or 503 carrying a
``Retry-After`` we are willing to wait for. Never retried: other 4xx (the request
is wrong) and 500 (a server bug that a retry would repeat).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx

from earthbench_client.errors import ApiError, NetworkError

# datetime.UTC is 3.11+; the client supports 3.10 (CI images lag behind).
UTC = timezone.utc  # noqa: UP017

RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# After the last byte of a large upload the server still stores and hashes it.
UPLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0, read=600.0)
# A chunk is only appended and fsynced: a silent connection is a dead one sooner.
CHUNK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, read=120.0)


def parse_retry_after(
    value: str | None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Client:
    """A thin httpx wrapper: base URL, token, error bodies → ``ApiError``, retries."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        jitter: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
        user_agent: str = "earthbench-cli",
    ):
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.jitter = jitter
        self.sleep = sleep
        self.log = log or (lambda _msg: None)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=DEFAULT_TIMEOUT,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def backoff_delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): base * 2**attempt, capped."""
        delay = min(self.max_backoff, self.backoff * (2**attempt))
        if self.jitter:
            # Spread retries of many CI jobs hitting one recovering server.
            delay *= random.uniform(0.5, 1.0)
        return delay

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; returns a 2xx response or raises ApiError/NetworkError.

        A multipart body built from a file object is replayed from the start on
        each try (httpx seeks the file to 0), so uploads are retried safely as long
        as the caller sends an ``Idempotency-Key``.
        """
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise NetworkError(
                        f"{method} {self._full(url)} failed after "
                        f"{attempt + 1} tries: {_describe(exc)}"
                    ) from None
                delay = self.backoff_delay(attempt)
                self.log(f"{_describe(exc)}; retrying in {delay:.1f}s")
            else:
                if response.is_success:
                    return response
                delay = self._retry_delay(response, attempt)
                if delay is None:
                    raise ApiError.from_response(response)
                self.log(
                    f"server answered {response.status_code}; retrying in {delay:.1f}s"
                )
                response.close()
            self.sleep(delay)
            attempt += 1

    def send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One try, no retries, errors not raised: for callers with their own
        recovery (a chunk is resumed from the server's offset, not replayed).
        Transport errors propagate as ``httpx.TransportError``."""
        return self._http.request(method, url, **kwargs)

    def retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Public alias of the retry policy for an error response."""
        return self._retry_delay(response, attempt)

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before retrying this error response, or None to give up."""
        status = response.status_code
        if status not in RETRY_STATUSES and status != 429:
            return None
        if attempt >= self.retries:
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429 and retry_after is None:
            return None  # a quota refusal: waiting blindly will not free it
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None  # e.g. a daily quota that resets in hours
            return retry_after
        return self.backoff_delay(attempt)

    def _full(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + ("" if url.startswith("/") else "/") + url

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs).json()

    def post_json(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs).json()


def describe(exc: httpx.TransportError) -> str:
    """``ReadError: connection reset`` — the type says more than most messages."""
    return _describe(exc)


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or "no details"
    return f"{type(exc).__name__}: {text}"
