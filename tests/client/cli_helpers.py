"""Shared helpers of the CLI tests (the submissions route, a server error body);
the ``preds`` fixture is in conftest.py."""

from __future__ import annotations

import httpx

POST = ("POST", "/api/v1/submissions/")


def error(status: int, message: str, code: str = "invalid", field=None, **kw):
    body = {"error": {"code": code, "message": message, "field": field}}
    return httpx.Response(status, json=body, **kw)
