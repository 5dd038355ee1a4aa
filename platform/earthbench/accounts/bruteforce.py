"""Failure counters for login and token brute force (cache-backed, per client)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, ident: str) -> str:
    return f"bf:{kind}:{ident}"


def is_locked(kind: str, ident: str) -> bool:
    return cache.get(_key(kind, ident), 0) >= settings.EARTHBENCH_LOGIN_MAX_FAILURES


def record_failure(kind: str, ident: str) -> None:
    key = _key(kind, ident)
    if cache.add(key, 1, settings.EARTHBENCH_LOGIN_LOCKOUT_S):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.EARTHBENCH_LOGIN_LOCKOUT_S)


def reset(kind: str, ident: str) -> None:
    cache.delete(_key(kind, ident))


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
