"""Suite leaderboard = evaluator.suite over member benchmarks' entries."""

import pytest
from rest_framework.test import APIClient
from scipy.stats import trim_mean

from earthbench.benchmarks.models import Benchmark
from earthbench.submissions import intake
from tests.platform.conftest import UserFactory, upload


def test_suite_rows_match_hand_computation(suite, eurosat, perfect_csv, half_right_csv):
    s, twin = suite
    a, b = UserFactory(), UserFactory()
    for bench in (eurosat, twin):
        intake.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
    intake.submission_create(user=b, benchmark=eurosat, file=upload(half_right_csv), filename="p.csv")
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
        intake.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
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
        intake.submission_create(user=a, benchmark=bench, file=upload(perfect_csv), filename="p.csv")
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


def test_a_suite_refuses_uploads_naming_its_members(api, suite, perfect_csv):
    s, twin = suite
    r = api.post("/api/v1/submissions/", {"benchmark": s.slug, "file": upload(perfect_csv)},
                 format="multipart")
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "suite_takes_no_submissions" and error["field"] == "benchmark"
    assert f"eurosat-classification-v1, {twin.slug}, absent-v1" in error["message"]
    assert not s.submissions.exists()


def test_a_suite_has_no_data_url_and_lists_its_members(api, suite):
    s, twin = suite
    body = api.get(f"/api/v1/benchmarks/{s.slug}/").json()
    assert body["data_url"] is None
    assert body["suite_members"] == ["eurosat-classification-v1", twin.slug, "absent-v1"]
    plain = api.get("/api/v1/benchmarks/eurosat-classification-v1/").json()
    assert plain["data_url"] and plain["suite_members"] == []


def test_a_suite_loaded_from_the_catalog_accepts_nothing(transactional_db):
    from benchmarks.catalog import CATALOG_DIR, load_spec
    from earthbench.benchmarks.services import benchmark_sync

    bench = benchmark_sync(spec=load_spec(CATALOG_DIR / "gfm-bench-suite-v1" / "benchmark.yaml"))
    assert bench.accepts_predictions is False and bench.accepts_containers is False
    # A row from before this rule (same YAML) is corrected on the next sync.
    Benchmark.objects.filter(pk=bench.pk).update(accepts_predictions=True)
    bench = benchmark_sync(spec=load_spec(CATALOG_DIR / "gfm-bench-suite-v1" / "benchmark.yaml"))
    assert bench.accepts_predictions is False
    body = APIClient().get("/api/v1/benchmarks/gfm-bench-suite-v1/").json()
    assert body["accepts_predictions"] is False


def test_suite_pages_have_no_submit_and_the_data_tab_links_the_members(client, suite):
    s, twin = suite
    for page in ("", "data/", "leaderboard/"):
        body = client.get(f"/benchmarks/{s.slug}/{page}").content.decode()
        assert f"/benchmarks/{s.slug}/submit/" not in body, page
        assert f"/benchmarks/{s.slug}/mine/" not in body, page
        assert "per team" not in body and "--kind suite" not in body, page
    data = client.get(f"/benchmarks/{s.slug}/data/").content.decode()
    assert 'href="/benchmarks/eurosat-classification-v1/data/"' in data
    assert 'href="/benchmarks/eurosat-classification-v1/submit/"' in data
    assert "absent-v1" in data and "not installed on this instance" in data
    assert "public.zip" not in data
    r = client.get(f"/benchmarks/{s.slug}/submit/")
    assert r.status_code == 302 and r["Location"] == f"/benchmarks/{s.slug}/data/"
