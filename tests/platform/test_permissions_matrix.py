"""Who may see and do what: every role × every page and endpoint that exposes a
benchmark's hidden parts, a submission, or account data.

Roles: anonymous, the participant who submitted, another participant, a member of
the submitter's team, a host of the benchmark, and staff. The benchmark has a
deadline in the future, so its private split is still hidden from participants.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from earthbench.accounts.teams import team_create, team_join
from earthbench.submissions import intake
from tests.platform.conftest import UserFactory, upload

ROLES = ("anon", "owner", "other", "member", "host", "staff")


@pytest.fixture
def world(eurosat, perfect_csv):
    eurosat.deadline = timezone.now() + timedelta(days=7)
    eurosat.save()
    users = {r: UserFactory() for r in ROLES if r != "anon"}
    users["staff"].is_staff = True
    users["staff"].save()
    eurosat.hosts.add(users["host"])
    team = team_create(user=users["owner"], benchmark=eurosat, name="Owners")
    team_join(user=users["member"], benchmark=eurosat, code=team.join_code)
    sub, _ = intake.submission_create(
        user=users["owner"], benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    return {"users": users, "sub": sub, "bench": eurosat}


def web(world, role) -> Client:
    c = Client()
    if role != "anon":
        c.force_login(world["users"][role])
    return c


def api(world, role) -> APIClient:
    c = APIClient()
    if role != "anon":
        c.force_authenticate(world["users"][role])
    return c


# expected status per role, in ROLES order
WEB = [
    ("/", (200, 200, 200, 200, 200, 200)),
    ("/benchmarks/{b}/", (200, 200, 200, 200, 200, 200)),
    ("/benchmarks/{b}/leaderboard/", (200, 200, 200, 200, 200, 200)),
    ("/benchmarks/{b}/data/public.zip", (200, 200, 200, 200, 200, 200)),
    ("/benchmarks/{b}/host/", (302, 404, 404, 404, 200, 200)),
    ("/benchmarks/new/", (302, 403, 403, 403, 403, 200)),  # hosts need the host role
    ("/submissions/{s}/", (302, 200, 404, 200, 200, 200)),
    ("/submissions/{s}/status.json", (302, 200, 404, 200, 200, 200)),
    ("/account/tokens/", (302, 200, 200, 200, 200, 200)),
    ("/account/", (302, 200, 200, 200, 200, 200)),
    ("/admin/", (302, 302, 302, 302, 302, 200)),
]

API = [
    ("get", "/api/v1/benchmarks/", (200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/benchmarks/{b}/leaderboard/", (200, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/benchmarks/{b}/leaderboard/?split=private", (403, 403, 403, 403, 200, 200)),
    ("get", "/api/v1/benchmarks/{b}/leaderboard/?split=private&format=csv", (403, 403, 403, 403, 200, 200)),
    ("get", "/api/v1/benchmarks/{b}/results/", (401, 404, 404, 404, 200, 200)),
    ("get", "/api/v1/submissions/{s}/", (401, 200, 404, 200, 200, 200)),
    ("get", "/api/v1/submissions/{s}/logs/", (401, 200, 404, 200, 200, 200)),
    ("get", "/api/v1/me/quota/?benchmark={b}", (401, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/tokens/", (401, 200, 200, 200, 200, 200)),
    ("post", "/api/v1/submissions/{s}/hide/", (401, 400, 404, 400, 200, 200)),
    ("post", "/api/v1/submissions/{s}/select/", (401, 200, 404, 200, 400, 400)),
    ("post", "/api/v1/submissions/{s}/cancel/", (401, 400, 404, 400, 400, 400)),
    # Host endpoints need the host role (a benchmark's M2M host without it: 403).
    ("get", "/api/v1/host/benchmarks/", (401, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/host/benchmarks/{b}/", (401, 403, 403, 403, 403, 200)),
    ("post", "/api/v1/host/benchmarks/{b}/unpublish/", (401, 403, 403, 403, 403, 200)),
    ("post", "/api/v1/host/benchmarks/", (401, 403, 403, 403, 403, 415)),  # JSON: not a ZIP upload
]


@pytest.mark.parametrize("url,expected", WEB, ids=[u for u, _ in WEB])
def test_web_permissions(world, url, expected):
    url = url.format(b=world["bench"].slug, s=world["sub"].pk)
    got = tuple(web(world, role).get(url).status_code for role in ROLES)
    assert got == expected, dict(zip(ROLES, got, strict=True))


@pytest.mark.parametrize("method,url,expected", API, ids=[f"{m} {u}" for m, u, _ in API])
def test_api_permissions(world, method, url, expected):
    url = url.format(b=world["bench"].slug, s=world["sub"].pk)
    got = []
    for role in ROLES:
        client = api(world, role)
        if method == "get":
            r = client.get(url)
        else:
            r = client.post(url, {"reason": "matrix"}, format="json")
        got.append(r.status_code)
    assert tuple(got) == expected, dict(zip(ROLES, got, strict=True))


def test_private_scores_visible_only_to_hosts_and_staff(world):
    url = f"/api/v1/submissions/{world['sub'].pk}/"
    for role in ("owner", "member", "host", "staff"):
        splits = {s["split"] for s in api(world, role).get(url).json().get("scores", [])}
        assert splits == ({"public", "private"} if role in ("host", "staff") else {"public"}), role
