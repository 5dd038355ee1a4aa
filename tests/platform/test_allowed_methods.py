"""Every URL answers exactly the HTTP methods its view declares.

A view that reused another by subclassing inherited its methods: ``/cancel/``
answered GET with the submission and ``/uploads/<uuid>/complete/`` accepted a
PUT of bytes. This test enumerates every URL pattern of the URLconf (the API,
the website, the API schema and docs, the log-in routes; the canary walk's
machinery fills the parameters), probes each HTTP method on it as a signed-in
staff user (so that no permission check answers first) and compares the methods
that were not refused with 405 to the table below. A pattern missing from the
table fails, and so does a table row no pattern has.

Django's own admin site (``admin/…``, apart from our guarded log-in) is not ours
to declare and is left out.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.platform import test_canary_walk as canary
from tests.platform.conftest import UserFactory

world = canary.world  # the canary walk's objects fill the URL patterns

PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

READ = {"GET", "HEAD"}
FORM = {"GET", "HEAD", "POST"}
POST = {"POST"}
# DRF answers OPTIONS (the endpoint's description) on every API view.
API_READ = READ | {"OPTIONS"}
API_POST = {"POST", "OPTIONS"}

EXPECTED: dict[str, set[str]] = {
    # ---- API v1
    "api/v1/benchmarks/": API_READ,
    "api/v1/benchmarks/<slug:slug>/": API_READ,
    "api/v1/benchmarks/<slug:slug>/leaderboard/": API_READ,
    "api/v1/benchmarks/<slug:slug>/results/": API_READ,
    "api/v1/submissions/": API_READ | POST,
    "api/v1/submissions/<int:pk>/": API_READ,
    "api/v1/submissions/<int:pk>/cancel/": API_POST,
    "api/v1/submissions/<int:pk>/select/": API_POST | {"DELETE"},
    "api/v1/submissions/<int:pk>/hide/": API_POST | {"DELETE"},
    "api/v1/submissions/<int:pk>/logs/": API_READ,
    "api/v1/me/quota/": API_READ,
    "api/v1/me/teams/": API_READ,
    "api/v1/benchmarks/<slug:slug>/team/": API_READ | POST,
    "api/v1/benchmarks/<slug:slug>/team/join/": API_POST,
    "api/v1/benchmarks/<slug:slug>/team/merge/": API_POST,
    "api/v1/benchmarks/<slug:slug>/team/copy/": API_POST,
    "api/v1/benchmarks/<slug:slug>/team/leave/": API_POST,
    "api/v1/uploads/": API_POST,
    "api/v1/uploads/<uuid:uuid>/": API_READ | {"PUT"},
    "api/v1/uploads/<uuid:uuid>/complete/": API_POST,
    "api/v1/tokens/": API_READ | POST,
    "api/v1/tokens/<int:pk>/": {"DELETE", "OPTIONS"},
    "api/v1/host/benchmarks/": API_READ | POST,
    "api/v1/host/benchmarks/<slug:slug>/": API_READ | {"PATCH"},
    "api/v1/host/benchmarks/<slug:slug>/bundle/": API_POST,
    "api/v1/host/benchmarks/<slug:slug>/publish/": API_POST,
    "api/v1/host/benchmarks/<slug:slug>/unpublish/": API_POST,
    "api/v1/host/benchmarks/<slug:slug>/rescore-previous/": API_POST,
    "api/schema/": API_READ,
    "api/docs/": READ,  # Swagger UI: OPTIONS crashed rendering its HTML template
    # ---- website
    "": READ,
    "benchmarks/new/": FORM,
    "benchmarks/<slug:slug>/": READ,
    "benchmarks/<slug:slug>/data/": READ,
    "benchmarks/<slug:slug>/data/public.zip": READ,
    "benchmarks/<slug:slug>/data/sample/": READ,
    "benchmarks/<slug:slug>/data/preview/<str:name>": READ,
    "benchmarks/<slug:slug>/leaderboard/": READ,
    "benchmarks/<slug:slug>/submit/": FORM,
    "benchmarks/<slug:slug>/mine/": READ,
    "benchmarks/<slug:slug>/team/": READ,
    "benchmarks/<slug:slug>/team/create/": POST,
    "benchmarks/<slug:slug>/team/join/": POST,
    "benchmarks/<slug:slug>/team/merge/": POST,
    "benchmarks/<slug:slug>/team/copy/": POST,
    "benchmarks/<slug:slug>/team/leave/": POST,
    "benchmarks/<slug:slug>/host/": READ,
    "benchmarks/<slug:slug>/host/rescore/": POST,
    "benchmarks/<slug:slug>/host/edit/": POST,
    "benchmarks/<slug:slug>/host/publish/": POST,
    "benchmarks/<slug:slug>/host/bundle/": POST,
    "benchmarks/<slug:slug>/host/rescore-previous/": POST,
    "submissions/": READ,
    "submissions/<int:pk>/": READ,
    "submissions/<int:pk>/status.json": READ,
    "submissions/<int:pk>/select/": POST,
    "submissions/<int:pk>/hide/": POST,
    "vendor/plotly.min.js": READ,
    "getting-started/": READ,
    "downloads/": READ,
    "downloads/<str:filename>": READ,
    "docs/examples/<str:name>": READ,
    "docs/<slug:name>/": READ,
    "accounts/signup/": FORM,
    "accounts/login/": FORM,
    "admin/login/": FORM,
    "accounts/logout/": POST,
    "accounts/password-reset/": FORM,
    "accounts/password-reset/sent/": READ,
    "accounts/reset/<uidb64>/<token>/": FORM,
    "accounts/reset/done/": READ,
    "account/": READ,
    "account/tokens/": FORM,
    "account/tokens/<int:pk>/revoke/": POST,
}


def _is_admin_site(parts) -> bool:
    return len(parts) > 1 and str(parts[0]) == "admin/"


def _declared_patterns(world) -> dict[str, str]:
    """route -> one URL that reaches that pattern, for every non-admin pattern."""
    found, unfilled = canary.pattern_urls(world)
    assert not unfilled, unfilled
    out = {}
    for parts, _leaf, urls in found:
        if _is_admin_site(parts):
            continue
        out.setdefault("".join(str(p) for p in parts), urls[0])
    return out


def allowed(url: str, staff, errors: list[str]) -> set[str]:
    """The methods on ``url`` not refused with 405 (each on a fresh session: a
    POST to the log-out route must not sign the next probe out). A method that
    crashes is reported in ``errors``."""
    out = set()
    for method in PROBED:
        cache.clear()  # no throttle or lock-out answers first
        client = Client(raise_request_exception=False)
        client.force_login(staff)
        resp = client.generic(method, url)
        if resp.status_code >= 500:
            errors.append(f"{method} {url} -> {resp.status_code}")
        if resp.status_code != 405:
            out.add(method)
        elif "Allow" in resp:  # a 405 names what is allowed: never the probed method
            assert method not in resp["Allow"].replace(" ", "").split(","), (url, resp["Allow"])
    return out


@pytest.fixture
def staff(world):
    return UserFactory(is_staff=True)


def test_the_table_names_every_pattern_and_nothing_else(world):
    routes = _declared_patterns(world)
    assert sorted(set(routes) - set(EXPECTED)) == [], "patterns without declared methods"
    assert sorted(set(EXPECTED) - set(routes)) == [], "declared routes no pattern has"


@pytest.mark.slow
def test_every_url_answers_exactly_its_declared_methods(world, staff):
    routes = _declared_patterns(world)
    wrong: list[str] = []
    for route, url in sorted(routes.items()):
        got = allowed(url, staff, wrong)
        if got != EXPECTED.get(route):
            extra = sorted(got - EXPECTED.get(route, set()))
            missing = sorted(EXPECTED.get(route, set()) - got)
            wrong.append(f"{url}: answers {extra} it should refuse, refuses {missing}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("method, path, expect", [
    ("GET", "/api/v1/submissions/{sub}/cancel/", 405),
    ("PUT", "/api/v1/uploads/{upload}/complete/", 405),
    ("GET", "/api/v1/submissions/{sub}/select/", 405),
    ("GET", "/api/v1/submissions/{sub}/hide/", 405),
    ("PUT", "/api/v1/submissions/{sub}/logs/", 405),
    ("GET", "/api/v1/host/benchmarks/{slug}/unpublish/", 405),
    ("PUT", "/accounts/login/", 405),
])
def test_methods_inherited_by_subclassing_are_refused(world, staff, method, path, expect):
    client = Client()
    client.force_login(world["users"]["owner"] if "{slug}" not in path else staff)
    url = path.format(sub=world["sub"].pk, upload=world["upload"].uuid, slug=world["bench"].slug)
    resp = client.generic(method, url)
    assert resp.status_code == expect, (url, resp.status_code)


def test_no_view_reuses_another_by_subclassing(world):
    """A class-based view of ours derives from the framework's classes only, so it
    inherits no other view's methods (``SubmissionCancel(SubmissionDetail)`` did)."""
    found, _ = canary.pattern_urls(world)
    ours = {leaf.callback.view_class for _, leaf, _ in found
            if getattr(leaf.callback, "view_class", None) and leaf.callback.view_class.__module__.startswith("earthbench.")}
    assert len(ours) > 20  # the API's views
    bad = [f"{cls.__module__}.{cls.__name__} derives from {base.__module__}.{base.__name__}"
           for cls in ours for base in cls.__mro__[1:] if base.__module__.startswith("earthbench.")]
    assert not bad, bad
