"""Log-in and token lockouts hold against spelling tricks, proxies and spoofed
headers, and cannot be turned against valid users (issue 16)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from earthbench.accounts.services import token_create
from tests.platform.conftest import UserFactory


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user(transactional_db):
    u = UserFactory(username="admin")
    u.is_staff = u.is_superuser = True
    u.save()
    return u


SPELLINGS = ["admin ", " admin", "\tadmin", "admin\n", "ａｄｍｉｎ", "ADMIN", "Admin"]
LOGIN_URLS = ["/accounts/login/", "/admin/login/"]


@pytest.mark.parametrize("url", LOGIN_URLS)
@pytest.mark.parametrize("spelling", SPELLINGS, ids=[repr(s) for s in SPELLINGS])
def test_locked_username_stays_locked_under_every_spelling(admin_user, settings, url, spelling):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    c = Client()
    for _ in range(3):
        assert c.post(url, {"username": "admin", "password": "wrong"}).status_code == 200
    r = c.post(url, {"username": spelling, "password": "wrong"})
    assert r.status_code == 429
    # even the right password waits for the lock to expire
    assert c.post(url, {"username": spelling, "password": "pw-123456789"}).status_code == 429


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_spellings_count_towards_one_lock(admin_user, settings, url):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    c = Client()
    for spelling in ("admin ", "ａｄｍｉｎ", "\tadmin"):
        assert c.post(url, {"username": spelling, "password": "wrong"}).status_code == 200
    assert c.post(url, {"username": "admin", "password": "pw-123456789"}).status_code == 429


def test_admin_login_succeeds_and_resets(admin_user, settings):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    c = Client()
    c.post("/admin/login/", {"username": "admin", "password": "wrong"})
    r = c.post("/admin/login/?next=/admin/", {"username": "admin", "password": "pw-123456789"})
    assert r.status_code == 302
    # the success reset the counter: three fresh failures before the lock
    c2 = Client()
    codes = [c2.post("/admin/login/", {"username": "admin", "password": "x"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


# ---------------------------------------------------------------- tokens


def test_bogus_tokens_do_not_lock_out_valid_tokens_from_the_same_address(user, settings):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    _, key = token_create(user=user, name="ok")
    bad, good = APIClient(), APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token eb_guess")
    good.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    codes = [bad.get("/api/v1/submissions/").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert good.get("/api/v1/submissions/").status_code == 200  # same REMOTE_ADDR
    assert bad.get("/api/v1/submissions/").status_code == 429  # the guesser stays locked


def test_forwarded_for_honoured_only_from_trusted_proxies(user, settings):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 2
    settings.EARTHBENCH_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.1.2.3"}
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Token eb_guess")
    # two clients behind the proxy: one guesser's lock does not reach the other
    for _ in range(2):
        c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy).status_code == 401
    # a client-written left part does not escape the lock: the proxy appends the real peer
    spoof = "1.2.3.4, 203.0.113.7"
    assert c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR=spoof, **proxy).status_code == 429
    # from an untrusted peer the header is ignored: rotating it buys nothing
    direct = {"REMOTE_ADDR": "192.0.2.50"}
    for i in range(2):
        c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}", **direct)
    assert c.get("/api/v1/submissions/", HTTP_X_FORWARDED_FOR="198.51.100.77", **direct).status_code == 429


def test_forwarded_proto_trusted_only_from_the_proxy(db, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.EARTHBENCH_TRUSTED_PROXIES = ["10.0.0.1"]
    c = Client()
    # a direct client claiming https is still redirected to https
    r = c.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="192.0.2.1")
    assert r.status_code == 301 and r["Location"].startswith("https://")
    # the configured proxy is believed
    assert c.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.1").status_code == 200


def test_production_compose_shares_lockout_counters_through_redis():
    import yaml

    from tests.platform.test_settings import REPO

    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    env = compose["x-app-env"]
    assert env["CACHE_URL"].startswith("redis://redis:6379/")
    assert env["CACHE_URL"] != env["CELERY_BROKER_URL"]  # its own database
    assert "EARTHBENCH_TRUSTED_PROXIES" in env


def test_anonymous_rate_limit_not_escaped_by_rotating_forwarded_for(db, settings, monkeypatch):
    from earthbench.api.throttling import SubmitRateThrottle, TokenRateThrottle

    rates = {"token": "3/min", "submit": "100/min"}
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SubmitRateThrottle, "THROTTLE_RATES", rates)
    settings.EARTHBENCH_TRUSTED_PROXIES = ["10.0.0.1"]
    c = APIClient()
    codes = [
        c.get("/api/v1/benchmarks/", REMOTE_ADDR="10.0.0.1",
              HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7").status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
