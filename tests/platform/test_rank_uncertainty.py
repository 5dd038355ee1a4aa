"""Rank intervals, P(first) and paired comparisons on every leaderboard surface."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from rest_framework.test import APIClient

from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.submissions import intake, selection
from earthbench.submissions.models import Score
from evaluator.rank_stats import paired_difference, rank_statistics
from tests.platform.conftest import UserFactory, csv_bytes, upload


def _wrong(rows, every):
    return [
        (sid, lab if i % every else ("Forest" if lab != "Forest" else "River"))
        for i, (sid, lab) in enumerate(rows)
    ]


@pytest.fixture
def three_teams(eurosat, truth_rows):
    users = [UserFactory() for _ in range(3)]
    files = [csv_bytes(truth_rows), csv_bytes(_wrong(truth_rows, 5)), csv_bytes(_wrong(truth_rows, 4))]
    subs = []
    for u, content in zip(users, files, strict=True):
        subs.append(intake.submission_create(user=u, benchmark=eurosat, file=upload(content), filename="p.csv")[0])
    return users, subs


def test_draws_of_one_split_are_paired(three_teams):
    _, subs = three_teams
    for split in ("public", "private"):
        keys = {s.draws_key for s in Score.objects.filter(submission__in=subs, split=split)}
        assert len(keys) == 1 and "" not in keys


def test_entries_carry_the_statistics_of_their_paired_draws(eurosat, three_teams):
    entries = list(
        LeaderboardEntry.objects.filter(benchmark=eurosat, split="public", is_baseline=False)
        .order_by("sort_value", "submitted_at")
        .select_related("score")
    )
    assert len(entries) == 3
    draws = np.array([e.score.primary_draws for e in entries], dtype=float)
    expected = rank_statistics(draws, eurosat.primary_direction)
    for i, e in enumerate(entries):
        assert (e.rank_low, e.rank_high) == (expected.rank_low[i], expected.rank_high[i])
        assert e.p_first == pytest.approx(expected.p_first[i], abs=1e-6)
    assert entries[0].vs_leader is None  # the leader is not compared with itself
    d = paired_difference(draws[0], draws[2], eurosat.primary_direction,
                          a_value=entries[0].primary_value, b_value=entries[2].primary_value)
    assert entries[2].vs_leader == pytest.approx(d.as_list())
    d = paired_difference(draws[1], draws[2], eurosat.primary_direction,
                          a_value=entries[1].primary_value, b_value=entries[2].primary_value)
    assert entries[2].vs_above == pytest.approx(d.as_list())
    # the perfect entry dominates on the demo split: first on every resample, so the
    # others are never first and the leader is better on every resample (estimate > 0)
    assert (entries[0].rank_low, entries[0].rank_high, entries[0].p_first) == (1, 1, 1.0)
    assert entries[1].rank_low >= 2 and entries[2].rank_low >= 2
    assert entries[1].p_first == entries[2].p_first == 0.0
    assert entries[2].vs_leader[0] == pytest.approx(entries[0].primary_value - entries[2].primary_value)
    assert entries[2].vs_leader[0] > 0 and entries[2].vs_leader[1] >= 0


def test_api_json_and_csv_show_rank_intervals(eurosat, three_teams):
    client = APIClient()
    body = client.get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/").json()
    ranked = [r for r in body["results"] if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    for r in ranked:
        assert 1 <= r["rank_low"] <= r["rank_high"] <= 3
        assert 0 <= r["p_first"] <= 1
    assert sum(r["p_first"] for r in ranked) == pytest.approx(1.0, abs=1e-5)
    second = ranked[1]
    assert second["vs_leader_diff"] > 0 and second["vs_leader_significant"] is not None
    assert second["tied_with_leader"] == (not second["vs_leader_significant"])
    text = client.get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/?format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    for col in ("rank_low", "rank_high", "p_first", "vs_leader_diff_low", "vs_above_significant"):
        assert col in rows[0]
    by_team = {r["team"]: r for r in rows}
    for r in ranked:
        assert int(by_team[r["team"]]["rank_low"]) == r["rank_low"]
        assert float(by_team[r["team"]]["p_first"]) == pytest.approx(r["p_first"])


def test_private_board_gets_statistics_too(eurosat, three_teams):
    eurosat.deadline = None
    eurosat.save()
    rows = APIClient().get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/?split=private").json()["results"]
    ranked = [r for r in rows if r["rank"] is not None]
    assert ranked and all(r["rank_low"] is not None and r["p_first"] is not None for r in ranked)


def test_page_shows_rank_interval_and_blob_plot(client, eurosat, three_teams):
    body = client.get(f"/benchmarks/{eurosat.slug}/leaderboard/").content.decode()
    assert 'class="muted rank-ci"' in body and "P(1st)" in body
    start = body.index('id="plot-ranks-data"')
    fig = json.loads(body[body.index(">", start) + 1 : body.index("</script>", start)])
    blobs = fig["data"][0]
    assert len(set(blobs["y"])) == 3 and all(1 <= x <= 3 for x in blobs["x"])


def test_hiding_an_entry_recomputes_the_others(eurosat, three_teams):
    _, subs = three_teams
    selection.submission_hide(submission=subs[0], by=UserFactory(is_staff=True), reason="test")
    entries = LeaderboardEntry.objects.filter(benchmark=eurosat, split="public", is_baseline=False)
    assert entries.count() == 2
    assert sum(e.p_first for e in entries) == pytest.approx(1.0, abs=1e-5)
    assert {e.rank_low for e in entries} >= {1}


def test_entries_without_paired_draws_get_no_statistics(eurosat, three_teams):
    _, subs = three_teams
    Score.objects.filter(submission=subs[2], split="public").update(draws_key="other-resamples")
    from earthbench.leaderboards.rank_uncertainty import leaderboard_refresh_rank_stats

    leaderboard_refresh_rank_stats(benchmark=eurosat)
    odd = LeaderboardEntry.objects.get(benchmark=eurosat, split="public", submission=subs[2])
    assert odd.rank_low is None and odd.p_first is None and odd.vs_leader is None
    others = LeaderboardEntry.objects.filter(benchmark=eurosat, split="public", is_baseline=False).exclude(pk=odd.pk)
    assert sum(e.p_first for e in others) == pytest.approx(1.0, abs=1e-5)


def test_suite_rows_get_rank_statistics_from_paired_iqm_draws(client, suite, eurosat, truth_rows):
    s, twin = suite
    s.is_published = True
    s.save()
    users = [UserFactory() for _ in range(3)]
    files = [csv_bytes(truth_rows), csv_bytes(_wrong(truth_rows, 3)), csv_bytes(_wrong(truth_rows, 2))]
    for u, content in zip(users, files, strict=True):
        for bench in (eurosat, twin):
            intake.submission_create(user=u, benchmark=bench, file=upload(content), filename="p.csv")
    rows = APIClient().get(f"/api/v1/benchmarks/{s.slug}/leaderboard/").json()["results"]
    ranked = [r for r in rows if r["rank"] is not None]
    assert [r["team"] for r in ranked] == [u.username for u in users]
    assert sum(r["p_first"] for r in ranked) == pytest.approx(1.0, abs=1e-5)
    assert (ranked[0]["rank_low"], ranked[0]["rank_high"]) == (1, 1)
    assert ranked[1]["vs_leader_diff"] > 0 and ranked[1]["vs_above_diff_low"] is not None
    body = client.get(f"/benchmarks/{s.slug}/leaderboard/").content.decode()
    assert "plot-ranks-data" in body and 'class="muted rank-ci"' in body


def test_a_rolled_back_refresh_does_not_stop_later_ones(eurosat, three_teams):
    """The de-duplication of queued refreshes must not outlive a rollback."""
    from django.db import transaction

    from earthbench.leaderboards.rank_uncertainty import schedule_rank_refresh

    LeaderboardEntry.objects.filter(benchmark=eurosat).update(p_first=None)
    try:
        with transaction.atomic():
            schedule_rank_refresh(benchmark_id=eurosat.pk)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert not LeaderboardEntry.objects.filter(benchmark=eurosat, p_first__isnull=False).exists()
    with transaction.atomic():
        schedule_rank_refresh(benchmark_id=eurosat.pk)
        schedule_rank_refresh(benchmark_id=eurosat.pk)  # queued once
        assert len(transaction.get_connection().run_on_commit) == 1
    ranked = LeaderboardEntry.objects.filter(benchmark=eurosat, split="public", is_baseline=False)
    assert sum(e.p_first for e in ranked) == pytest.approx(1.0, abs=1e-5)
