"""Suite leaderboard = evaluator.suite over member benchmarks' entries."""

import pytest
from rest_framework.test import APIClient
from scipy.stats import trim_mean

from earthbench.submissions import services
from tests.platform.conftest import UserFactory, upload


def test_suite_rows_match_hand_computation(suite, eurosat, perfect_csv, half_right_csv):
    s, twin = suite
    a, b = UserFactory(), UserFactory()
    for bench in (eurosat, twin):
        services.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
    services.submission_create(user=b, benchmark=eurosat, file=upload(half_right_csv), filename="p.csv")
    rows = APIClient().get("/api/v1/benchmarks/mini-suite-v1/leaderboard/").json()["results"]
    top = rows[0]
    assert top["team"] == a.username and top["rank"] == 1
    assert top["iqm"] == pytest.approx(trim_mean([(1.0 - 0.1) / 0.9, 1.0 / 2.0], 0.25))
    assert top["iqm_ci_low"] is not None
    # b has no twin entry: missing, unranked, listed last
    assert rows[1]["team"] == b.username and rows[1]["rank"] is None and rows[1]["missing"] == [twin.slug]


def test_suite_page_renders_table_and_plot(client, suite, eurosat, perfect_csv):
    s, twin = suite
    s.is_published = True
    s.save()
    a = UserFactory()
    for bench in (eurosat, twin):
        services.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
    r = client.get("/benchmarks/mini-suite-v1/leaderboard/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "suite-leaderboard" in body and a.username in body and "plot-suite-data" in body


def test_suite_private_board_hides_member_private_values_before_member_deadline(suite, eurosat, perfect_csv):
    """The suite has no deadline, but its member eurosat does: before it, eurosat's
    private values are not read (it counts as missing, and the page says so); its
    hosts and, after the deadline, everyone see them."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    s, twin = suite
    s.is_published = True
    s.save()
    eurosat.deadline = timezone.now() + timedelta(days=3)
    eurosat.save()
    a, host = UserFactory(), UserFactory()
    eurosat.hosts.add(host)
    for bench in (eurosat, twin):
        services.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
    url = "/api/v1/benchmarks/mini-suite-v1/leaderboard/?split=private"
    body = APIClient().get(url).json()
    row = body["results"][0]
    assert eurosat.slug not in row["scores"] and eurosat.slug not in row["normalised"]
    assert row["missing"] == [eurosat.slug] and row["rank"] is None
    assert body["hidden_members"] == [eurosat.slug]
    page = Client().get("/benchmarks/mini-suite-v1/leaderboard/?split=private").content.decode()
    assert "suite-hidden-members" in page and "counts as <strong>missing</strong>" in page
    hc = APIClient()
    hc.force_authenticate(host)
    assert eurosat.slug in hc.get(url).json()["results"][0]["scores"]
    eurosat.deadline = timezone.now() - timedelta(seconds=1)
    eurosat.save()
    body = APIClient().get(url).json()
    assert body["hidden_members"] == [] and eurosat.slug in body["results"][0]["scores"]
