"""Leaderboard reads. Ranking rules:

- one row per team: its best current score on the split (baselines are shown,
  labelled, and not ranked);
- direction from the benchmark's primary metric; ties go to the earlier
  submission; a missing value ranks last, never first;
- private split: a team's selected submissions count (up to the benchmark's
  final-selection count); a team that selected none is represented by its best
  public submission;
- the private split is visible after the deadline (at once without one), to
  hosts and staff always. ``split_visible`` is the ONE visibility rule: every
  read path (API, pages, plots, exports, ETags, suites, submission pages, logs,
  host previews) asks it, directly or through ``visible_splits``;
- rank uncertainty (``rank_uncertainty``): each ranked row carries its 95% rank
  interval and P(first) over the split's paired bootstrap resamples, and the
  paired bootstrap interval of its difference to the leader and to the row
  above; a row whose paired difference to the leader includes 0 is marked
  statistically tied with it (the leader is tied when the runner-up is).

Rows come from precomputed ``LeaderboardEntry`` rows (one indexed query).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.leaderboards.rank_uncertainty import excludes_zero
from evaluator.better import sort_key


def is_host(*, benchmark: Benchmark, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or benchmark.hosts.filter(pk=user.pk).exists()


SPLITS = ("public", "private")


def split_visible(*, benchmark: Benchmark, split: str, user=None, now: datetime | None = None) -> bool:
    """Whether ``user`` (None or anonymous: the public) may see values of ``split``
    of ``benchmark`` at ``now``. Public: always. Private: after the benchmark's
    deadline (at once without one); before it, to its hosts and staff only. Any
    other split name is never visible."""
    if split == "public":
        return True
    if split != "private":
        return False
    if benchmark.deadline is None or (now or timezone.now()) >= benchmark.deadline:
        return True
    return is_host(benchmark=benchmark, user=user)


def visible_splits(*, benchmark: Benchmark, user=None, now: datetime | None = None) -> set[str]:
    return {name for name in SPLITS if split_visible(benchmark=benchmark, split=name, user=user, now=now)}


@dataclass
class Row:
    rank: int | None
    team: str
    submission_id: int
    method_name: str
    created_at: datetime
    primary_value: float | None
    metrics: dict
    ci: dict
    is_baseline: bool
    efficiency: dict = field(default_factory=dict)
    entries: int = 1
    tied_with_leader: bool = False
    rank_low: int | None = None
    rank_high: int | None = None
    p_first: float | None = None
    rank_shares: dict = field(default_factory=dict)
    vs_leader: list | None = None  # [estimate, low, high]: leader minus this row
    vs_above: list | None = None  # [estimate, low, high]: row above minus this row


_ORDER = ("sort_value", "submitted_at", "submission_id")


def leaderboard_count(*, benchmark: Benchmark, split: str) -> int:
    return LeaderboardEntry.objects.filter(benchmark=benchmark, split=split).count()


def leaderboard_rows(
    *,
    benchmark: Benchmark,
    split: str,
    sort: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Row]:
    """Rows in rank order (the caller checks visibility with ``split_visible``).

    Ranks and the leader's interval come from one narrow query over all entries;
    only the requested page is loaded in full, so a read stays fast however many
    teams and submissions there are.
    """
    base = LeaderboardEntry.objects.filter(benchmark=benchmark, split=split).order_by(*_ORDER)
    light = list(base.values_list("pk", "is_baseline", "vs_leader"))
    ranks: dict[int, int | None] = {}
    tied: set[int] = set()
    leader = None
    rank = 0
    for pk, is_baseline, vs_leader in light:
        if is_baseline:
            ranks[pk] = None
            continue
        rank += 1
        ranks[pk] = rank
        leader = leader or pk
        if pk != leader and excludes_zero(vs_leader) is False:
            tied.add(pk)
    if tied:
        tied.add(leader)  # the leader is tied when some row is tied with it
    if sort and sort != benchmark.primary_metric:
        if sort not in {m["key"] for m in benchmark.metrics}:
            raise ValueError(f"unknown metric {sort!r}")
        page_pks = [pk for pk, *_ in light]  # re-sorted below on the metric
    else:
        end = None if limit is None else offset + limit
        page_pks = [pk for pk, *_ in light[offset:end]]
    full = (
        LeaderboardEntry.objects.filter(pk__in=page_pks)
        .select_related("submission", "score", "team")
        .defer("score__samples", "score__primary_draws", "submission__log_tail", "submission__description")
        .in_bulk()
    )
    rows = []
    for pk in page_pks:
        e = full[pk]
        sub = e.submission
        rows.append(
            Row(
                rank=ranks[pk],
                team="Baseline" if e.is_baseline else e.team.name,
                submission_id=sub.pk,
                method_name=sub.method_name,
                created_at=sub.created_at,
                primary_value=e.primary_value,
                metrics={k: v for k, v in e.score.metrics.items() if k not in ("per_class", "per_type", "samples")},
                ci=e.score.ci,
                is_baseline=e.is_baseline,
                efficiency=sub.efficiency,
                entries=e.entries,
                tied_with_leader=pk in tied,
                rank_low=e.rank_low,
                rank_high=e.rank_high,
                p_first=e.p_first,
                rank_shares=e.rank_shares,
                vs_leader=e.vs_leader,
                vs_above=e.vs_above,
            )
        )
    if sort and sort != benchmark.primary_metric:
        direction = next(m["direction"] for m in benchmark.metrics if m["key"] == sort)

        def key(r: Row):
            v = r.metrics.get(sort)
            ok = isinstance(v, int | float)
            return (not ok, sort_key(v, direction) if ok else 0.0, r.created_at)

        rows.sort(key=key)
        end = None if limit is None else offset + limit
        rows = rows[offset:end]
    return rows


@dataclass
class Standing:
    """Where a submission stands on one split's leaderboard."""

    split: str
    rank: int | None  # None: a baseline (unranked) or not the team's entry
    count: int  # ranked entries on the split
    is_entry: bool  # this submission is its team's row on the split
    entry_submission_id: int | None  # the team's row otherwise


def submission_standings(*, submission, splits) -> list[Standing]:
    """The submission's rank on each of ``splits`` (the caller checks visibility);
    one narrow query per split, as a leaderboard read."""
    out = []
    for split in splits:
        light = LeaderboardEntry.objects.filter(
            benchmark_id=submission.benchmark_id, split=split
        ).order_by(*_ORDER).values_list("is_baseline", "submission_id", "team_id")
        rank, mine, team_entry = 0, None, None
        for is_baseline, sub_id, team_id in light:
            if not is_baseline:
                rank += 1
            if sub_id == submission.pk:
                mine = None if is_baseline else rank
            if team_id == submission.team_id:
                team_entry = sub_id
        is_entry = team_entry == submission.pk
        out.append(Standing(split, mine if is_entry else None, rank, is_entry, team_entry))
    return out
