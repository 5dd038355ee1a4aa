"""The score-over-time plot reads one aggregate row per team and the points of the
plotted teams only, and draws exactly what loading every score drew."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from earthbench.leaderboards import plots
from earthbench.leaderboards.services import leaderboard_refresh_benchmark
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
        # Distinct per team (no ties but the one made on purpose), not monotonic.
        base = 0.30 + 0.04 * ((i * 5) % n_teams)
        values = [base + d for d in (0.01, -0.005, 0.015, 0.002)[: 1 + i % 4]]
        if i in (3, 5):
            values[-1] = 0.95  # a tie for the best final value (max direction)
        for v in values:
            sub = make_scored(user=u, benchmark=eurosat, results=eurosat_results, primary=v)
            Submission.objects.filter(pk=sub.pk).update(created_at=start + timedelta(hours=7 * k))
            k += 1
    hidden = make_scored(user=users[0], benchmark=eurosat, results=eurosat_results, primary=0.99)
    Submission.objects.filter(pk=hidden.pk).update(is_hidden=True)
    base = make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.98)
    Submission.objects.filter(pk=base.pk).update(is_baseline=True)
    # As the services do after a change of visibility.
    leaderboard_refresh_benchmark(benchmark=eurosat)
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
    """No query reads every score of the board: each is capped (LIMIT), names
    the plotted teams, or (private split) returns one row per team."""
    _board(eurosat, eurosat_results, n_teams=14)
    for split in ("public", "private"):
        with CaptureQueriesContext(connection) as ctx:
            fig = plots.score_over_time(benchmark=eurosat, split=split, max_teams=3)
        assert len(_drawn(fig)) == 3
        for q in ctx.captured_queries:
            sql = q["sql"].upper()
            assert "LIMIT" in sql or " IN (" in sql or "GROUP BY" in sql, sql


def _via_plotly(traces, layout):
    import plotly.graph_objects as go

    return plots._fig_json(go.Figure(data=[go.Scatter(**t) for t in traces], layout=layout))


def test_plain_figures_equal_plotlys_json(eurosat, eurosat_results, monkeypatch):
    """The leaderboard's two figures are built as plain JSON; plotly's own
    Figure → JSON gives the same dictionaries (titles, dates, dropped Nones,
    the expanded template)."""
    from earthbench.leaderboards.selectors import leaderboard_rows

    _board(eurosat, eurosat_results)
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    fast = [plots.score_over_time(benchmark=eurosat), plots.rank_blobs(benchmark=eurosat, rows=rows)]
    monkeypatch.setattr(plots, "scatter_figure", _via_plotly)
    slow = [plots.score_over_time(benchmark=eurosat), plots.rank_blobs(benchmark=eurosat, rows=rows)]
    assert fast[1] is not None, "the board has rank statistics to draw"
    assert fast == slow


def test_time_range_falls_back_when_the_newest_are_not_plotted(eurosat, eurosat_results, monkeypatch):
    """The range is read from the submissions nearest each end; when none of those
    is plotted (here: the 2 newest hidden, with 2 looked at) the exact reading
    answers, so the range still matches loading every score."""
    _board(eurosat, eurosat_results, n_teams=6)
    newest = list(Submission.objects.filter(benchmark=eurosat).order_by("-created_at", "-pk")[:2])
    Submission.objects.filter(pk__in=[s.pk for s in newest]).update(is_hidden=True)
    leaderboard_refresh_benchmark(benchmark=eurosat)
    monkeypatch.setattr(plots, "_NEAR", 2)
    _, (lo, hi), _ = _reference(eurosat, "public")
    rng = plots.score_over_time(benchmark=eurosat)["layout"]["xaxis"]["range"]
    assert [r[:19].replace("T", " ") for r in rng] == [lo.isoformat(sep=" ")[:19], hi.isoformat(sep=" ")[:19]]


def test_entries_whose_scores_are_gone_draw_nothing(eurosat, eurosat_results):
    """A leaderboard entry can outlive its plotted scores until the next refresh
    (here: the only scores stop being current); the page drew a 500 then."""
    sub = make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.5)
    leaderboard_refresh_benchmark(benchmark=eurosat)
    Score.objects.filter(submission=sub).update(is_current=False)
    for split in ("public", "private"):
        assert plots.score_over_time(benchmark=eurosat, split=split) is None
