"""Plot specifications (plotly figure JSON) rendered in the browser with the
bundled plotly.js — no CDN."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
from django.db.models import Count, Exists, Max, Min, OuterRef

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.submissions.models import Score, Submission
from evaluator.better import best, is_better, sign, sort_key

_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 40, "b": 50}, "height": 340, "template": "plotly_white"}


def _fig_json(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


@functools.cache
def _template(name: str) -> dict:
    """A named plotly template as the figure JSON carries it (plotly.js knows no names)."""
    return _fig_json(go.Figure(layout={"template": name}))["layout"]["template"]


def _plain(value, titled: bool = False):
    """What plotly's figure JSON makes of a value: None dropped, datetimes in ISO
    format, a string ``title`` as ``{"text": …}``."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            if k == "title" and isinstance(v, str):
                v = {"text": v}
            out[k] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def scatter_figure(traces: list[dict], layout: dict) -> dict:
    """The JSON ``go.Figure(data=[go.Scatter(**t) …], layout=layout).to_json()``
    gives for these plain traces and layout, without plotly's per-property
    validation (≈ 20 ms a figure of a few hundred points; a test compares the two)."""
    layout = _plain(layout)
    if isinstance(layout.get("template"), str):
        layout["template"] = _template(layout["template"])
    return {"data": [{**_plain(t), "type": "scatter"} for t in traces], "layout": layout}


def score_over_time(*, benchmark: Benchmark, split: str = "public", max_teams: int = 10) -> dict | None:
    """Best-so-far primary score per team over time (the top ``max_teams``).

    Only the plotted teams' points are loaded (``_plotted_teams`` finds them, the
    time range and the point count without reading every score); loading every
    score of a board with 100,000 submissions took ~1 s."""
    scores = Score.objects.filter(
        submission__benchmark=benchmark,
        submission__status=Submission.Status.SCORED,
        submission__is_hidden=False,
        submission__is_baseline=False,
        split=split,
        is_current=True,
        primary_value__isnull=False,
    )
    direction = benchmark.primary_direction
    maximise = sign(direction) > 0
    top, lo, hi, n_points = _plotted_teams(benchmark, split, scores, maximise, max_teams)
    if not top:
        return None
    order = {team_id: i for i, team_id in enumerate(top)}
    # The plotted teams' submissions first (index benchmark, team, created_at), then
    # their scores by submission id: each planner (SQLite's too) then reads only
    # these rows instead of walking every score of the split.
    subs = {
        pk: (team_id, name, at)
        for pk, team_id, name, at in Submission.objects.filter(
            benchmark=benchmark, team_id__in=top, status=Submission.Status.SCORED,
            is_hidden=False, is_baseline=False,
        ).values_list("pk", "team_id", "team__name", "created_at")
    }
    values = _plotted_values(subs, split)
    series: dict[int, tuple[str, list, list]] = {}
    for pk in sorted(values, key=lambda pk: (subs[pk][2], pk)):
        team_id, name, at = subs[pk]
        _, xs, ys = series.setdefault(team_id, (name, [], []))
        xs.append(at)
        ys.append(values[pk] if not ys else best([ys[-1], values[pk]], direction))
    if not series or lo is None:
        # Entries can outlive their plotted scores until the next refresh (a score
        # superseded or a submission hidden in the meantime): nothing to draw.
        return None
    ranked = [series[t] for t in sorted(series, key=order.__getitem__)]
    spec = next((m for m in benchmark.metrics if m.get("key") == benchmark.primary_metric), {})
    percent = spec.get("format") == "percent"
    traces = []
    for team, xs, ys in ranked:
        traces.append(dict(
            x=xs, y=ys, name=team, line={"shape": "hv"},
            # Markers help a few points; hundreds read better as lines.
            mode="lines+markers" if n_points <= 60 else "lines",
            hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y" + (":.2%" if percent else ":.4f") + "}",
        ))
    # The x range spans at least two days, so a single submission (or a burst within
    # seconds) gets day ticks, never millisecond ones.
    if hi - lo < timedelta(days=2):
        mid = lo + (hi - lo) / 2
        lo, hi = mid - timedelta(days=1), mid + timedelta(days=1)
    for ref in benchmark.reference_results:
        if ref.get("metric") == benchmark.primary_metric and isinstance(ref.get("value"), int | float):
            shown = f"{100 * ref['value']:.2f}%" if percent else f"{ref['value']:.4f}"
            label = f"{ref.get('source') or 'reference'} ({shown})"
            # A dotted trace: its full label goes in the legend, wrapped, never cut.
            traces.append(dict(
                x=[lo, hi], y=[ref["value"]] * 2, mode="lines", name=_wrap(label),
                line={"dash": "dot", "color": "#666"}, hoverinfo="name",
            ))
    return scatter_figure(traces, dict(
        title=f"Best {benchmark.primary_metric} so far ({split})",
        xaxis={"type": "date", "range": [lo, hi], "tickformat": "%b %d\n%Y",
               "hoverformat": "%Y-%m-%d %H:%M", "nticks": 8},
        yaxis={"title": benchmark.primary_metric, "tickformat": ".0%" if percent else None},
        legend={"orientation": "h", "y": -0.25},
        **{**_LAYOUT, "height": 420, "margin": {"l": 60, "r": 20, "t": 40, "b": 40}},
    ))


def _plotted_teams(benchmark, split, scores, maximise: bool, max_teams: int):
    """(team ids best first, first and last submission time, number of points or
    61 when over 60) of the plot.

    Public split: a team's final best-so-far is its best public score, which is
    what its leaderboard entry holds (refreshed whenever its scores or
    visibility change), so the top teams are the first entries; the time range
    and the point count are two index-ordered LIMIT 1 reads and a count capped at
    61 (markers are drawn up to 60 points). Private split: the entry is the
    team's *selected* submission, not its best, so the best per team is
    aggregated over the scores (one row per team)."""
    if split == "public":
        top = list(
            LeaderboardEntry.objects.filter(
                benchmark=benchmark, split=split, is_baseline=False, primary_value__isnull=False
            )
            .order_by("sort_value", "submitted_at", "team_id")
            .values_list("team_id", flat=True)[:max_teams]
        )
        if not top:
            return [], None, None, 0
        lo, hi = _time_range(benchmark, split, scores)
        return top, lo, hi, scores[:61].count()
    teams = list(
        scores.values("submission__team_id")
        .annotate(
            best=Max("primary_value") if maximise else Min("primary_value"),
            first=Min("submission__created_at"),
            last=Max("submission__created_at"),
            n=Count("id"),
        )
        .values_list("submission__team_id", "best", "first", "last", "n")
    )
    if not teams:
        return [], None, None, 0
    # Best final value first; among equals the team that appeared first.
    ranked = sorted(teams, key=lambda t: (sort_key(t[1], benchmark.primary_direction), t[2], t[0]))[:max_teams]
    return ([t[0] for t in ranked], min(t[2] for t in teams), max(t[3] for t in teams),
            sum(t[4] for t in teams))


def _plotted_values(submission_ids, split: str) -> dict[int, float]:
    """``{submission id: primary value}`` of these (already filtered) submissions'
    current scores on ``split`` that have one. Only the submission id is in the
    WHERE clause, so every database looks the rows up by it (given the split too,
    SQLite walks the split's whole index)."""
    rows = Score.objects.filter(submission_id__in=list(submission_ids), is_current=True).values_list(
        "submission_id", "split", "primary_value"
    )
    return {pk: v for pk, sp, v in rows if sp == split and v is not None}


_NEAR = 50


def _time_range(benchmark, split, scores):
    """First and last submission time of the plotted scores. The benchmark's 50
    submissions nearest each end (id only: an index read) are checked for a
    plotted score; only when none of them has one (a board whose newest 50 are
    all queued, hidden or failed) is the exact but slower reading used (every
    submission checked)."""
    ends = [
        list(Submission.objects.filter(benchmark=benchmark).order_by(*order).values_list("pk", flat=True)[:_NEAR])
        for order in (("created_at", "pk"), ("-created_at", "-pk"))
    ]
    times = dict(
        Submission.objects.filter(
            pk__in=ends[0] + ends[1], status=Submission.Status.SCORED, is_hidden=False, is_baseline=False
        ).values_list("pk", "created_at")
    )
    plotted = set(_plotted_values(times, split))
    oldest = [times[pk] for pk in ends[0] if pk in plotted]
    newest = [times[pk] for pk in ends[1] if pk in plotted]
    if oldest and newest:
        # A plotted submission before the first plotted of the 50 oldest would be
        # among those 50; likewise at the newest end.
        return min(oldest), max(newest)
    exact = Submission.objects.filter(
        Exists(scores.filter(submission_id=OuterRef("pk"))), benchmark=benchmark
    ).values_list("created_at", flat=True)
    return exact.order_by("created_at").first(), exact.order_by("-created_at").first()


def _wrap(text: str, width: int = 48) -> str:
    """Plotly legends do not wrap: break long labels with <br>."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


# What a kind's plain per-class numbers are (dict values name their own metric).
PER_CLASS_METRIC = {
    "classification": "recall (per-class accuracy)",
    "detection": "AP",
    "multilabel": "AP",
    "scene-graph": "recall",
}
_PER_CLASS_KEYS = ("iou", "sc_iou", "ap", "knn_ap", "accuracy", "f1")


def _per_class_values(per_class: dict, kind: str = "") -> tuple[dict[str, float], str]:
    """The plotted values and the name of their metric."""
    out, names = {}, []
    for name, v in per_class.items():
        if isinstance(v, int | float):
            out[name] = v
            names.append(PER_CLASS_METRIC.get(kind, "score"))
        elif isinstance(v, dict):
            for key in _PER_CLASS_KEYS:
                if isinstance(v.get(key), int | float):
                    out[name] = v[key]
                    names.append(key.replace("_", " ").upper() if key != "accuracy" else key)
                    break
    metric = max(set(names), key=names.count) if names else "score"
    return out, metric


def per_class_bars(*, metrics: dict, split: str, kind: str = "") -> dict | None:
    values, metric = _per_class_values(
        metrics.get("per_class") or metrics.get("per_type") or {}, kind
    )
    if not values:
        return None
    fig = go.Figure(go.Bar(x=list(values), y=list(values.values()), marker_color="#0b6e4f",
                           hovertemplate="%{x}: %{y:.4f}<extra>" + metric + "</extra>"))
    fig.update_layout(title=f"Per-class {metric} ({split})", yaxis={"range": [0, 1], "title": metric},
                      **_LAYOUT)
    return _fig_json(fig)


def pareto(*, benchmark: Benchmark, rows) -> dict | None:
    """Accuracy vs latency for container entries; the Pareto front is drawn."""
    pts = [
        (r.efficiency.get("latency_ms_per_sample"), r.primary_value, r.team)
        for r in rows
        if r.efficiency.get("latency_ms_per_sample") is not None and r.primary_value is not None
    ]
    if not pts:
        return None
    pts.sort()
    front, top = [], None
    for lat, val, _team in pts:
        if top is None or is_better(val, top, benchmark.primary_direction):
            front.append((lat, val))
            top = val
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], text=[p[2] for p in pts],
                             mode="markers", name="entries"))
    fig.add_trace(go.Scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines",
                             name="Pareto front", line={"shape": "hv"}))
    fig.update_layout(title=f"{benchmark.primary_metric} vs latency", xaxis_title="latency (ms/sample, median)",
                      yaxis_title=benchmark.primary_metric, **_LAYOUT)
    return _fig_json(fig)


def suite_bars(*, rows, max_teams: int = 8) -> dict | None:
    """Normalised score per member benchmark for the top teams of a suite."""
    rows = [r for r in rows if r.normalised][:max_teams]
    if not rows:
        return None
    members = sorted({m for r in rows for m in r.normalised})
    fig = go.Figure()
    for r in rows:
        fig.add_trace(go.Bar(name=r.team, x=members, y=[r.normalised.get(m) for m in members]))
    fig.update_layout(title="Normalised score per member benchmark (0 = worst reference, 1 = best)",
                      barmode="group", **_LAYOUT)
    return _fig_json(fig)


def rank_blobs(*, benchmark: Benchmark, rows, max_teams: int = 30, metric: str | None = None) -> dict | None:
    """Blob plot of rank distributions (challengeR): one row per team, a dot per
    rank it took on the paired bootstrap resamples, the dot's area the share of
    resamples; the observed rank is marked with a cross."""
    rows = [r for r in rows if r.rank is not None and r.rank_shares][:max_teams]
    if not rows:
        return None
    xs, ys, sizes, texts = [], [], [], []
    for r in rows:
        for rank, share in sorted(r.rank_shares.items(), key=lambda kv: int(kv[0])):
            xs.append(int(rank))
            ys.append(r.team)
            sizes.append(share)
            texts.append(f"{r.team}: rank {rank} on {share:.0%} of resamples")
    max_rank = max(xs)
    traces = [
        dict(
            x=xs, y=ys, mode="markers", name="share of resamples", text=texts, hoverinfo="text",
            marker={"size": [4 + 26 * s ** 0.5 for s in sizes], "color": "#0b6e4f", "opacity": 0.7},
        ),
        dict(
            x=[r.rank for r in rows], y=[r.team for r in rows], mode="markers", name="observed rank",
            marker={"symbol": "x-thin", "size": 10, "line": {"width": 2, "color": "#222"}},
        ),
    ]
    layout = dict(_LAYOUT)
    layout["height"] = max(240, 60 + 28 * len(rows))
    return scatter_figure(traces, dict(
        title=f"Rank over {metric or benchmark.primary_metric} bootstrap resamples (dot area = share)",
        xaxis={"title": "rank", "dtick": 1 if max_rank <= 20 else None, "range": [0.5, max_rank + 0.5]},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
        **layout,
    ))
