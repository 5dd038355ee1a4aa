"""Request guards that run before anything else touches a request.

``BodyLimitMiddleware`` (first in MIDDLEWARE) refuses an oversize body with 413
before any parser reads it: the CSRF middleware parses a multipart body as soon
as a POST carries a ``csrftoken`` cookie, so without it an anonymous client could
make the server spool gigabytes to disk before the 403. The limit is
``EARTHBENCH_ANON_MAX_BODY_BYTES`` for anonymous callers and
``EARTHBENCH_MAX_BODY_BYTES`` (the largest upload plus multipart overhead) for a
valid session or API token; views keep their own per-kind limits below that.
It is checked on ``Content-Length`` and, for a body without one (chunked transfer
on a server that sets ``wsgi.input_terminated``), on the bytes as they stream.

``DatabaseBusyMiddleware`` turns the contention error of the embedded SQLite
database ("database is locked" after the busy timeout) into 503 + Retry-After
instead of a 500, for the API and the website.
"""

from __future__ import annotations

import sys
from importlib import import_module

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse

RETRY_AFTER_S = 2


def is_db_locked(exc: BaseException | None) -> bool:
    """SQLite's "database is locked" / "database table is locked" (busy)."""
    return isinstance(exc, OperationalError) and "is locked" in str(exc)


def _error(request, status: int, code: str, message: str) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "field": None}}
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(body, status=status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


class _CappedStream:
    """Reads at most ``limit`` bytes from ``stream``; one byte more flags and raises."""

    def __init__(self, stream, limit: int):
        self._stream, self._limit, self.read_bytes, self.exceeded = stream, limit, 0, False

    def _count(self, data: bytes) -> bytes:
        self.read_bytes += len(data)
        if self.read_bytes > self._limit:
            self.exceeded = True
            raise RequestDataTooBig(f"request body exceeds {self._limit} bytes")
        return data

    def read(self, size: int = -1) -> bytes:
        if self.exceeded:
            raise RequestDataTooBig("request body too large")
        # Never read more than one byte past the limit in one call.
        room = self._limit - self.read_bytes + 1
        size = room if size is None or size < 0 else min(size, room)
        return self._count(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        if self.exceeded:
            raise RequestDataTooBig("request body too large")
        room = self._limit - self.read_bytes + 1
        size = room if size is None or size < 0 else min(size, room)
        return self._count(self._stream.readline(size))

    def __iter__(self):
        return iter(self.readline, b"")

    def close(self) -> None:
        pass


def _authenticated(request) -> bool:
    """A live API token or a logged-in session, resolved without reading the body."""
    from earthbench.accounts import bruteforce
    from earthbench.accounts.services import token_authenticate

    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(header) == 2 and header[0].lower() in ("token", "bearer"):
        # The API's own order (accounts.authentication): a valid token works even
        # from an address locked for presenting bogus ones.
        if token_authenticate(key=header[1]) is not None:
            return True
        ip = bruteforce.client_ip(request)
        if not bruteforce.is_locked("token", ip):
            bruteforce.record_failure("token", ip)
        return False
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    from django.contrib.auth import get_user

    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    try:
        return get_user(request).is_authenticated
    finally:
        del request.session  # SessionMiddleware sets its own


# The routes that take uploads: only there does a signed-in caller get the large
# upload limit. Every other body (forms, JSON) keeps the small limit, since
# Django's CSRF check and form parsing spool multipart file parts to disk for
# any POST before the view runs.
UPLOAD_ROUTES = frozenset({
    "api-submissions", "api-upload", "api-host-benchmarks", "api-host-bundle",
    "benchmark-submit", "benchmark-new",
})


def _upload_route(request) -> bool:
    from django.urls import Resolver404, resolve

    try:
        return resolve(request.path_info).url_name in UPLOAD_ROUTES
    except Resolver404:
        return False


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        anon = settings.EARTHBENCH_ANON_MAX_BODY_BYTES
        length = request.META.get("CONTENT_LENGTH") or ""
        try:
            declared = int(length) if length else None
        except ValueError:
            declared = -1
        if declared is not None and declared < 0:
            return _error(request, 400, "invalid", "Content-Length is not a valid length")
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared is None and not chunked:
            return self.get_response(request)  # no body (Django reads none)
        if declared is not None and declared <= anon:
            return self.get_response(request)
        authenticated = _upload_route(request) and _authenticated(request)
        limit = settings.EARTHBENCH_MAX_BODY_BYTES if authenticated else anon
        if declared is not None and declared > limit:
            return self._too_large(request, limit)
        if declared is not None:
            return self.get_response(request)  # Django reads at most `declared` bytes
        if not authenticated or not request.META.get("wsgi.input_terminated"):
            # Anonymous forms always have a length; and a server that cannot
            # tell where a chunked body ends gives Django an empty one.
            return _error(request, 411, "length_required", "Content-Length is required")
        # Chunked: read the body from the server's stream up to its end, capped.
        capped = _CappedStream(request.META["wsgi.input"], limit)
        request._stream = capped
        response = self.get_response(request)
        if capped.exceeded:
            return self._too_large(request, limit)
        return response

    @staticmethod
    def _too_large(request, limit: int) -> HttpResponse:
        stream = request.META.get("wsgi.input")
        if isinstance(stream, LimitedStream):
            # runserver (the embedded default) reads whatever the application left
            # unread after the response, in one read() into memory: let it read
            # nothing. (No Content-Length on this response: it closes the connection.)
            stream.limit = stream._pos
        return _error(
            request, 413, "too_large",
            f"request body exceeds the limit of {limit} bytes"
            + ("" if limit > settings.EARTHBENCH_ANON_MAX_BODY_BYTES else "; log in or send an API token"),
        )


def _mark_locked(sender, request=None, **kwargs) -> None:
    if request is not None and is_db_locked(sys.exc_info()[1]):
        request._earthbench_db_locked = True


signals.got_request_exception.connect(_mark_locked, dispatch_uid="earthbench-db-locked")


class DatabaseBusyMiddleware:
    """503 + Retry-After for "database is locked", wherever it was raised."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "_earthbench_db_locked", False):
            return busy_response(request)
        return response

    def process_exception(self, request, exc):
        if is_db_locked(exc):
            return busy_response(request)
        return None


def busy_response(request) -> HttpResponse:
    response = _error(
        request, 503, "busy", f"the server is busy; retry in {RETRY_AFTER_S} s"
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response

