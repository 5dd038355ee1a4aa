"""The score-over-time plot reads one aggregate row per team and the points of the
plotted teams only, and draws exactly what loading every score drew."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from earthbench.leaderboards import plots
from earthbench.submissions.models import Score, Submission
from tests.platform.conftest import UserFactory
from tests.web.conftest import make_scored


def _reference(benchmark, split, max_teams=10):
    """The previous implementation: every score of the board, best-so-far per
    team, the top ``max_teams`` by final value (ties: first appearance)."""
    rows = (
        Score.objects.filter(
            submission__benchmark=benchmark, submission__status="scored",
            submission__is_hidden=False, submission__is_baseline=False,
            split=split, is_current=True, primary_value__isnull=False,
        )
        .order_by("submission__created_at")
        .values_list("submission__team__name", "submission__created_at", "primary_value")
    )
    better = max if benchmark.primary_direction == "max" else min
    series: dict[str, tuple[list, list]] = {}
    for team, at, value in rows:
        xs, ys = series.setdefault(team, ([], []))
        xs.append(at)
        ys.append(value if not ys else better(ys[-1], value))
    ranked = sorted(series.items(), key=lambda kv: kv[1][1][-1],
                    reverse=benchmark.primary_direction == "max")[:max_teams]
    times = [t for xs, _ in series.values() for t in xs]
    n = sum(len(xs) for xs, _ in series.values())
    return ranked, (min(times), max(times)), n


def _board(eurosat, eurosat_results, n_teams=14):
    """Teams with several submissions each, distinct times, ties in the final
    value, a hidden submission that would have been the best, a baseline."""
    start = timezone.now() - timedelta(days=30)
    users = [UserFactory() for _ in range(n_teams)]
    k = 0
    for i, u in enumerate(users):
        values = [0.30 + 0.03 * ((i * 7 + j * 3) % 11) for j in range(1 + i % 4)]
        if i in (3, 5):
            values[-1] = 0.95  # a tie for the best final value
        for v in values:
            sub = make_scored(user=u, benchmark=eurosat, results=eurosat_results, primary=v)
            Submission.objects.filter(pk=sub.pk).update(created_at=start + timedelta(hours=7 * k))
            k += 1
    hidden = make_scored(user=users[0], benchmark=eurosat, results=eurosat_results, primary=0.99)
    Submission.objects.filter(pk=hidden.pk).update(is_hidden=True)
    base = make_scored(user=users[1], benchmark=eurosat, results=eurosat_results, primary=0.98)
    Submission.objects.filter(pk=base.pk).update(is_baseline=True)
    return users


def _drawn(fig):
    teams = [t for t in fig["data"] if t.get("line", {}).get("dash") != "dot"]
    return [(t["name"], [x[:19].replace("T", " ") for x in t["x"]], t["y"], t["mode"]) for t in teams]


@pytest.mark.parametrize("direction", ["max", "min"])
def test_plot_equals_loading_every_score(eurosat, eurosat_results, direction):
    eurosat.primary_direction = direction
    eurosat.save()
    _board(eurosat, eurosat_results)
    for split in ("public", "private"):
        ranked, (lo, hi), n = _reference(eurosat, split)
        fig = plots.score_over_time(benchmark=eurosat, split=split)
        want = [
            (team, [x.isoformat(sep=" ")[:19] for x in xs], ys, "lines+markers" if n <= 60 else "lines")
            for team, (xs, ys) in ranked
        ]
        assert _drawn(fig) == want
        rng = fig["layout"]["xaxis"]["range"]
        assert rng[0][:19].replace("T", " ") == lo.isoformat(sep=" ")[:19] and rng[1][:19].replace("T", " ") == hi.isoformat(sep=" ")[:19]


def test_plot_loads_only_the_plotted_teams_points(eurosat, eurosat_results):
    users = _board(eurosat, eurosat_results, n_teams=14)
    with CaptureQueriesContext(connection) as ctx:
        fig = plots.score_over_time(benchmark=eurosat, split="public", max_teams=3)
    assert len(_drawn(fig)) == 3
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
    # The points query names the plotted teams; the other 11 are never loaded.
    assert "GROUP BY" in selects[0].upper() and " IN (" in selects[1].upper()
    assert len(users) == 14
