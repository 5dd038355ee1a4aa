"""The state machine: queued → running → scored | failed (| cancelled).

Every transition is one transaction here, recorded as a ``SubmissionEvent``;
only the current attempt may record its outcome (a run taken over after a lost
heartbeat cannot overwrite its successor). Ways out of every state:
docs/architecture.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import evaluator
from earthbench.accounts.models import Team
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.services import leaderboard_refresh_team
from earthbench.submissions import dispatch
from earthbench.submissions.errors import SubmissionRefused
from earthbench.submissions.events import record_event
from earthbench.submissions.heartbeat import last_alive, retry_locked
from earthbench.submissions.models import Score, Submission


@retry_locked
def submission_start(*, submission_id: int) -> Submission | None:
    """Lock and move a submission to running; None if it is not ours to run.

    A submission found ``running`` is being retried after a lost worker (the
    task is ``acks_late``): it is taken again while attempts remain, once its
    last sign of life is older than ``EARTHBENCH_RETAKE_AFTER_S``.
    """
    with transaction.atomic():
        sub = (
            Submission.objects.select_for_update()
            .select_related("benchmark")
            .filter(pk=submission_id)
            .first()
        )
        if sub is None or sub.status not in (
            Submission.Status.QUEUED,
            Submission.Status.RUNNING,
        ):
            return None
        alive = last_alive(sub)  # its heartbeat, else its start
        if sub.status == Submission.Status.RUNNING and alive and (
            timezone.now() - alive
        ).total_seconds() < settings.EARTHBENCH_RETAKE_AFTER_S:
            return None  # another worker is on it; a duplicate message
        if sub.attempts >= settings.EARTHBENCH_MAX_ATTEMPTS:
            finish_failed(sub, f"gave up after {sub.attempts} attempts", counts=False)
            return None
        sub.status = Submission.Status.RUNNING
        sub.attempts += 1
        sub.started_at = sub.heartbeat_at = timezone.now()  # a previous attempt's beat is not ours
        sub.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "updated_at"])
        record_event(sub, sub.status, f"attempt {sub.attempts}")
    return sub


def finish_failed(sub: Submission, message: str, *, counts: bool) -> None:
    """Mark a locked submission failed (the caller holds its row lock)."""
    sub.status = Submission.Status.FAILED
    sub.error = message
    sub.counts_against_quota = counts
    sub.finished_at = timezone.now()
    sub.save(
        update_fields=["status", "error", "counts_against_quota", "finished_at", "updated_at"]
    )
    record_event(sub, sub.status, message)


@retry_locked
def submission_fail(
    *, submission_id: int, message: str, counts: bool = False, attempt: int | None = None
) -> None:
    """Fail the run (``attempt``: only if it is still the current one)."""
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission_id)
        if sub.is_finished or attempt not in (None, sub.attempts):
            return
        finish_failed(sub, message, counts=counts)


def submission_record_scores(
    *, submission_id: int, results: dict, efficiency=None, attempt: int | None = None
) -> bool:
    """Write Score rows and mark scored, atomically; False if the run was superseded
    (no longer running, or taken over by a later ``attempt`` after a lost heartbeat)."""
    with transaction.atomic():
        lock_team_of(submission_id)
        sub = Submission.objects.select_for_update().get(pk=submission_id)
        if sub.status != Submission.Status.RUNNING or attempt not in (None, sub.attempts):
            return False
        Score.objects.filter(submission=sub, is_current=True).update(is_current=False)
        Score.objects.bulk_create(
            Score(
                submission=sub,
                split=name,
                metrics=r["metrics"],
                primary_value=r["primary_value"],
                ci=r["ci"],
                primary_draws=r.get("primary_draws", []),
                draws_key=r.get("draws_key", ""),
                samples=r["samples"],
                evaluator_version=evaluator.__version__,
            )
            for name, r in results.items()
        )
        sub.status = Submission.Status.SCORED
        sub.error = ""
        sub.finished_at = timezone.now()
        if efficiency:
            sub.efficiency = efficiency
        sub.save(update_fields=["status", "error", "finished_at", "efficiency", "updated_at"])
        record_event(sub, sub.status)
        leaderboard_refresh_team(benchmark=sub.benchmark, team=sub.team)
    return True


def lock_team_of(submission_id: int) -> None:
    """Serialise leaderboard refreshes of one team (team row, then submission:
    the order intake and selection use). Without it, two workers finishing
    two submissions of a team at once each pick the team's best without seeing
    the other's uncommitted scores, and the last commit wins (seen on Postgres)."""
    team_id = Submission.objects.values_list("team_id", flat=True).get(pk=submission_id)
    Team.objects.select_for_update().filter(pk=team_id).first()


def submission_cancel(*, submission: Submission, user) -> Submission:
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        if sub.status != Submission.Status.QUEUED:
            raise SubmissionRefused(f"only queued submissions can be cancelled (this one is {sub.status})")
        sub.status = Submission.Status.CANCELLED
        sub.finished_at = timezone.now()
        sub.save(update_fields=["status", "finished_at", "updated_at"])
        record_event(sub, sub.status, f"cancelled by {user}")
    return sub


def submission_requeue(*, submission: Submission, note: str) -> None:
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        sub.status = Submission.Status.QUEUED
        sub.save(update_fields=["status", "updated_at"])
        record_event(sub, sub.status, note)
        dispatch.enqueue(sub)


def benchmark_rescore(*, benchmark: Benchmark) -> int:
    """Re-run every scored or failed submission (e.g. after an evaluator fix)."""
    n = 0
    for sub in Submission.objects.filter(
        benchmark=benchmark,
        status__in=[Submission.Status.SCORED, Submission.Status.FAILED],
        kind=Submission.Kind.PREDICTIONS,
    ):
        with transaction.atomic():
            Submission.objects.filter(pk=sub.pk).update(attempts=0)
        submission_requeue(submission=sub, note="re-score requested by host")
        n += 1
    return n
