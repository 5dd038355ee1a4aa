"""Leaderboard reads. Ranking rules:

- one row per team: its best current score on the split (baselines are shown,
  labelled, and not ranked);
- direction from the benchmark's primary metric; ties go to the earlier
  submission; a missing value ranks last, never first;
- private split: a team's selected submissions count (up to the benchmark's
  final-selection count); a team that selected none is represented by its best
  public submission;
- the private split is visible after the deadline (at once without one), to
  hosts and staff always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.models import Score, Submission


def is_host(*, benchmark: Benchmark, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or benchmark.hosts.filter(pk=user.pk).exists()


def split_visible(*, benchmark: Benchmark, split: str, user=None, now: datetime | None = None) -> bool:
    if split == "public":
        return True
    if split != "private":
        return False
    if benchmark.deadline is None or (now or timezone.now()) >= benchmark.deadline:
        return True
    return is_host(benchmark=benchmark, user=user)


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


def _sort_key(direction: str):
    def key(s: Score):
        v = s.primary_value
        missing = v is None
        return (missing, 0 if missing else (-v if direction == "max" else v), s.submission.created_at, s.submission_id)

    return key


def _current_scores(benchmark: Benchmark, split: str):
    return list(
        Score.objects.filter(
            submission__benchmark=benchmark,
            submission__status=Submission.Status.SCORED,
            submission__is_hidden=False,
            split=split,
            is_current=True,
        ).select_related("submission", "submission__team")
    )


def leaderboard_rows(*, benchmark: Benchmark, split: str) -> list[Row]:
    """Rows in rank order (caller checks visibility with ``split_visible``)."""
    key = _sort_key(benchmark.primary_direction)
    scores = _current_scores(benchmark, split)
    if split == "private":
        scores = _final_private_scores(benchmark, scores)
    best: dict[int, Score] = {}
    counts: dict[int, int] = {}
    baselines: list[Score] = []
    for s in sorted(scores, key=key):
        if s.submission.is_baseline:
            baselines.append(s)
            continue
        counts[s.submission.team_id] = counts.get(s.submission.team_id, 0) + 1
        best.setdefault(s.submission.team_id, s)
    ranked = sorted(best.values(), key=key)
    rows = []
    for i, s in enumerate(ranked, start=1):
        rows.append(_row(s, rank=i, entries=counts[s.submission.team_id]))
    rows += [_row(s, rank=None) for s in baselines]
    rows.sort(key=lambda r: (r.primary_value is None, _order_value(r, benchmark), r.created_at))
    return rows


def _order_value(row: Row, benchmark: Benchmark) -> float:
    if row.primary_value is None:
        return 0.0
    return -row.primary_value if benchmark.primary_direction == "max" else row.primary_value


def _row(s: Score, *, rank: int | None, entries: int = 1) -> Row:
    sub = s.submission
    return Row(
        rank=rank,
        team=sub.team.name if not sub.is_baseline else "Baseline",
        submission_id=sub.pk,
        method_name=sub.method_name,
        created_at=sub.created_at,
        primary_value=s.primary_value,
        metrics=s.metrics,
        ci=s.ci,
        is_baseline=sub.is_baseline,
        efficiency=sub.efficiency,
        entries=entries,
    )


def _final_private_scores(benchmark: Benchmark, private_scores: list[Score]) -> list[Score]:
    """Keep each team's selected submissions, or its best public one if none."""
    by_team: dict[int, list[Score]] = {}
    for s in private_scores:
        by_team.setdefault(s.submission.team_id, []).append(s)
    public = {s.submission_id: s for s in _current_scores(benchmark, "public")}
    key = _sort_key(benchmark.primary_direction)
    out = []
    for _team, scores in by_team.items():
        if scores[0].submission.is_baseline:
            out += scores
            continue
        selected = [s for s in scores if s.submission.is_selected]
        if selected:
            out += selected
            continue
        pub = sorted((public[s.submission_id] for s in scores if s.submission_id in public), key=key)
        if pub:
            out += [s for s in scores if s.submission_id == pub[0].submission_id]
    return out
