import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from earthbench.api.throttling import SubmitRateThrottle, TokenRateThrottle


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_login_locked_after_repeated_failures(client, user, settings):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        r = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
        assert r.status_code == 200
    r = client.post("/accounts/login/", {"username": user.username, "password": "pw-123456789"})
    assert r.status_code == 429
    cache.clear()
    r = client.post("/accounts/login/", {"username": user.username, "password": "pw-123456789"})
    assert r.status_code == 302


def test_invalid_tokens_throttled_per_address(db, settings):
    settings.EARTHBENCH_LOGIN_MAX_FAILURES = 3
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Token eb_guess")
    codes = [c.get("/api/v1/submissions/").status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_api_rate_limited_per_token(api, eurosat, monkeypatch):
    rates = {"token": "3/min", "submit": "100/min"}
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SubmitRateThrottle, "THROTTLE_RATES", rates)
    codes = [api.get("/api/v1/benchmarks/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get("/api/v1/benchmarks/")
    assert r.json()["error"]["code"] == "throttled" and "Retry-After" in r


def test_benchmark_filters(api, eurosat):
    assert api.get("/api/v1/benchmarks/?modality=multispectral").json()["count"] == 1
    assert api.get("/api/v1/benchmarks/?modality=sar").json()["count"] == 0
    assert api.get("/api/v1/benchmarks/?paper=torchgeo").json()["count"] == 1


def test_uploaded_files_never_served(client, api, eurosat, perfect_csv):
    from tests.platform.conftest import upload

    r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": upload(perfect_csv, "x.html")},
                 format="multipart")
    sub_uuid = r.json()["uuid"]
    for url in (f"/media/submissions/{sub_uuid}/x.html", f"/submissions/{sub_uuid}/x.html",
                f"/static/submissions/{sub_uuid}/x.html"):
        assert client.get(url).status_code == 404


def test_security_headers_on_pages(client, eurosat):
    r = client.get("/")
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"


def test_forms_require_csrf(user, eurosat):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    assert c.post("/account/tokens/", {"name": "x", "scope_read": "on"}).status_code == 403
