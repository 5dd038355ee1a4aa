"""No N+1 queries: page query counts stay flat as teams and submissions grow."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.web.conftest import UserFactory, make_scored

BASE = "/benchmarks/eurosat-classification-v1"


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries)


def add_teams(bench, results, n: int, start: int) -> None:
    for i in range(start, start + n):
        u = UserFactory()
        make_scored(
            user=u,
            benchmark=bench,
            results=results,
            primary=0.5 + i / 100,
            method_name=f"m{i}",
        )
        make_scored(user=u, benchmark=bench, results=results, primary=0.3 + i / 100)


PAGES = [
    ("/", 8),
    (BASE + "/", 12),
    (BASE + "/data/", 12),
    # The leaderboard's score-over-time plot makes a constant 8 small queries
    # (LIMIT or IN lists) instead of reading every score of the board: 1 → 8.
    (BASE + "/leaderboard/", 16),
    (BASE + "/leaderboard/?split=private", 16),
    (BASE + "/leaderboard/?sort=kappa", 16),
    (BASE + "/host/", 16),
]


def test_public_and_host_pages_do_not_grow_with_teams(
    client, user, eurosat, eurosat_results
):
    eurosat.hosts.add(user)
    client.force_login(user)
    add_teams(eurosat, eurosat_results, 3, 0)
    few = {url: count_queries(client, url) for url, _ in PAGES}
    add_teams(eurosat, eurosat_results, 27, 3)
    many = {url: count_queries(client, url) for url, _ in PAGES}
    assert many == few, "query counts grew from 3 to 30 teams"
    for url, limit in PAGES:
        assert many[url] <= limit, f"{url}: {many[url]} queries (limit {limit})"


def test_leaderboard_page_with_30_teams_lists_them_all(
    client, many_teams, django_assert_max_num_queries
):
    with django_assert_max_num_queries(11):  # 8 of them the score-over-time plot's
        html = client.get(BASE + "/leaderboard/").content.decode()
    assert len(re.findall(r'<tr id="entry-public-\d+" class="">', html)) == 30


@pytest.mark.parametrize(
    ("url", "limit"), [("/submissions/", 10), (BASE + "/mine/", 14)]
)
def test_my_submission_lists_do_not_grow(
    client, user, eurosat, eurosat_results, url, limit, django_assert_max_num_queries
):
    client.force_login(user)
    for i in range(2):
        make_scored(
            user=user, benchmark=eurosat, results=eurosat_results, primary=0.5 + i / 100
        )
    few = count_queries(client, url)
    eurosat.daily_quota = 100
    eurosat.save()
    for i in range(20):
        make_scored(
            user=user, benchmark=eurosat, results=eurosat_results, primary=0.6 + i / 100
        )
    many = count_queries(client, url)
    assert many == few
    with django_assert_max_num_queries(limit):
        client.get(url)


def test_submission_page_query_count(
    client, user, eurosat, eurosat_results, django_assert_max_num_queries
):
    sub = make_scored(user=user, benchmark=eurosat, results=eurosat_results)
    client.force_login(user)
    with django_assert_max_num_queries(12):
        r = client.get(f"/submissions/{sub.pk}/")
    assert b"95% CI" in r.content
    with django_assert_max_num_queries(8):
        client.get(f"/submissions/{sub.pk}/status.json")


def test_team_tab_and_account_page_do_not_grow_with_members_or_benchmarks(client, user, eurosat):
    from earthbench.accounts.teams import team_create, team_join
    from earthbench.benchmarks.models import Benchmark

    client.force_login(user)
    lab = team_create(user=user, benchmark=eurosat, name="Big Lab")

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            team_join(user=UserFactory(), benchmark=eurosat, code=lab.join_code)
            other = Benchmark.objects.create(slug=f"q-bench-{i}", title="q", task_kind="classification",
                                             primary_metric="oa", metrics=eurosat.metrics)
            team_create(user=user, benchmark=other, name=f"Lab {i}")

    urls = [BASE + "/team/", "/account/"]
    grow(3, 0)
    few = {url: count_queries(client, url) for url in urls}
    grow(27, 3)
    many = {url: count_queries(client, url) for url in urls}
    assert many == few, "query counts grew from 3 to 30 members and teams"
    assert max(many.values()) <= 14, many
