"""Outermost middleware: the health check and the forwarded-header trust rule."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse

from earthbench.accounts.bruteforce import is_trusted_proxy

HEALTH_PATH = "/healthz"
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT")


class HealthCheckMiddleware:
    """``GET /healthz``: 200 "ok" when the database answers, 503 otherwise.

    Answered before host validation and the HTTPS redirect, so the container
    healthcheck (plain HTTP to 127.0.0.1 inside the container) passes whatever
    ``DJANGO_ALLOWED_HOSTS`` says; it reveals nothing but liveness."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != HEALTH_PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
        except Exception:
            return HttpResponse("database unavailable", status=503, content_type="text/plain")
        return HttpResponse("ok", content_type="text/plain")


class ForwardedHeadersMiddleware:
    """X-Forwarded-Proto/For/Host/Port are believed only from a peer listed in
    ``EARTHBENCH_TRUSTED_PROXIES``; from anyone else they are dropped, so a client
    cannot claim https (``SECURE_PROXY_SSL_HEADER``) or another address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
