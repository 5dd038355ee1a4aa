"""Failure counters for log-in and token brute force (cache-backed), and the
client address as far as it can be trusted.

Production shares the counters across gunicorn processes through the Redis cache
(``CACHE_URL``; the compose file sets it).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from functools import lru_cache

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


# ---------------------------------------------------------------- addresses


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in spec if s.strip())


def is_trusted_proxy(addr: str) -> bool:
    """Whether ``addr`` is one of ``EARTHBENCH_TRUSTED_PROXIES`` (addresses or CIDR
    networks). Only such a peer's X-Forwarded-* headers are believed."""
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.EARTHBENCH_TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The peer address; behind a trusted proxy, the rightmost X-Forwarded-For
    address that is not itself a trusted proxy (the left part is client-written)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not is_trusted_proxy(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a malformed hop: trust nothing further left
        if not is_trusted_proxy(hop):
            return hop
    return remote


# ---------------------------------------------------------------- log-in


def normalise_username(raw: str) -> str:
    """The username as Django's log-in resolves it: the form strips surrounding
    white space and applies NFKC (``UsernameField``); the key is then case-folded,
    so every spelling that reaches one account shares one counter."""
    return unicodedata.normalize("NFKC", (raw or "").strip())[:150].casefold()


def login_ident(request) -> str:
    return f"{client_ip(request)}:{normalise_username(request.POST.get('username', ''))}"
