"""Keep LeaderboardEntry rows in step with scores, selections and visibility."""

from __future__ import annotations

from django.db import transaction

from earthbench.accounts.models import Team
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import MISSING_SORT_VALUE, LeaderboardEntry
from earthbench.leaderboards.rank_uncertainty import schedule_rank_refresh
from earthbench.submissions.models import Score, Submission
from evaluator.better import sort_key


def _best(scores: list[Score], direction: str) -> Score | None:
    def key(s: Score):
        sv = sort_key(s.primary_value, direction)
        return (sv is None, sv if sv is not None else 0.0, s.submission.created_at, s.submission_id)

    return min(scores, key=key) if scores else None


def final_private_candidates(
    *, benchmark: Benchmark, public: list[Score], private: list[Score]
) -> list[Score]:
    """A team's selected submissions count on the private split; if it selected
    none, its best public submission does."""
    selected = [s for s in private if s.submission.is_selected]
    if selected:
        return selected
    best_public = _best(public, benchmark.primary_direction)
    if best_public is None:
        return []
    return [s for s in private if s.submission_id == best_public.submission_id]


@transaction.atomic
def leaderboard_refresh_team(*, benchmark: Benchmark, team: Team) -> None:
    scores = list(
        Score.objects.filter(
            submission__benchmark=benchmark,
            submission__team=team,
            submission__status=Submission.Status.SCORED,
            submission__is_hidden=False,
            is_current=True,
        ).select_related("submission")
    )
    by_split: dict[str, list[Score]] = {}
    for s in scores:
        by_split.setdefault(s.split, []).append(s)
    public = by_split.get("public", [])
    candidates = {
        "public": public,
        "private": final_private_candidates(
            benchmark=benchmark, public=public, private=by_split.get("private", [])
        ),
    }
    primary = benchmark.primary_metric
    # Rank intervals and paired comparisons involve every entry of the split:
    # recomputed once this transaction commits.
    schedule_rank_refresh(benchmark_id=benchmark.pk)
    for split, cands in candidates.items():
        best = _best(cands, benchmark.primary_direction)
        if best is None:
            LeaderboardEntry.objects.filter(benchmark=benchmark, split=split, team=team).delete()
            continue
        ci = best.ci.get(primary) or [None, None]
        LeaderboardEntry.objects.update_or_create(
            benchmark=benchmark,
            split=split,
            team=team,
            defaults={
                "submission": best.submission,
                "score": best,
                "primary_value": best.primary_value,
                "sort_value": (
                    MISSING_SORT_VALUE
                    if best.primary_value is None
                    else sort_key(best.primary_value, benchmark.primary_direction)
                ),
                "ci_low": ci[0],
                "ci_high": ci[1],
                "submitted_at": best.submission.created_at,
                "is_baseline": best.submission.is_baseline,
                "entries": len(by_split.get(split, [])),
            },
        )


@transaction.atomic
def leaderboard_refresh_benchmark(*, benchmark: Benchmark) -> None:
    LeaderboardEntry.objects.filter(benchmark=benchmark).delete()
    for team in Team.objects.filter(submissions__benchmark=benchmark).distinct():
        leaderboard_refresh_team(benchmark=benchmark, team=team)
