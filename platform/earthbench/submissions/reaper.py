"""The reapers (the beat task ``reap_stuck_submissions``): every run and every
queued submission has a way out.

- ``reap_lost_runs``: a ``running`` submission whose heartbeat is older than
  ``EARTHBENCH_HEARTBEAT_TIMEOUT_S`` (its worker died) is requeued, and a
  ``queued`` one older than ``EARTHBENCH_QUEUED_ORPHAN_S`` with no message
  waiting in the broker is sent again (``heartbeat.py`` has the rules).
- ``reap_stuck_submissions``: anything past ``EARTHBENCH_SCORING_TIMEOUT_S`` is
  requeued, or failed with a reason after ``EARTHBENCH_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from earthbench.submissions import lifecycle
from earthbench.submissions.heartbeat import _heartbeat_stale as heartbeat_stale
from earthbench.submissions.heartbeat import _lost_reason as lost_reason
from earthbench.submissions.heartbeat import waiting_submission_ids
from earthbench.submissions.models import Submission


def reap_lost_runs(*, now: datetime | None = None) -> dict[str, int]:
    """Requeue (or fail, once attempts are used up) runs whose worker died and
    queued submissions whose message is gone."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    running = Submission.Status.RUNNING
    for pk in Submission.objects.filter(heartbeat_stale(now), status=running).values_list("pk", flat=True):
        with transaction.atomic():
            sub = Submission.objects.select_for_update().filter(heartbeat_stale(now), pk=pk, status=running).first()
            if sub is None:  # it beat, finished or was taken over meanwhile
                continue
            if sub.attempts >= settings.EARTHBENCH_MAX_ATTEMPTS:
                lifecycle.finish_failed(sub, lost_reason(sub), counts=False)
                counts["failed"] += 1
            else:
                lifecycle.submission_requeue(submission=sub, note="reaper: no heartbeat, requeued")
                counts["requeued"] += 1
    orphan_cut = now - timedelta(seconds=settings.EARTHBENCH_QUEUED_ORPHAN_S)
    queued = list(
        Submission.objects.filter(status=Submission.Status.QUEUED, updated_at__lt=orphan_cut)
        .values_list("pk", flat=True)
    )
    waiting = waiting_submission_ids() if queued else set()
    if waiting is None:
        return counts
    for pk in queued:
        if pk in waiting:
            continue
        with transaction.atomic():
            sub = Submission.objects.select_for_update().filter(
                pk=pk, status=Submission.Status.QUEUED, updated_at__lt=orphan_cut
            ).first()
            if sub is not None:
                lifecycle.submission_requeue(submission=sub, note="reaper: no message in the broker, requeued")
                counts["requeued"] += 1
    return counts


def reap_stuck_submissions(*, now: datetime | None = None) -> dict[str, int]:
    """Requeue or fail anything overdue: running past the timeout (worker died or
    hung), or queued for longer than the timeout (message lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EARTHBENCH_SCORING_TIMEOUT_S)
    stuck = Submission.objects.filter(
        Q(status=Submission.Status.RUNNING, started_at__lt=cutoff)
        | Q(status=Submission.Status.QUEUED, updated_at__lt=cutoff)
    )
    counts = {"requeued": 0, "failed": 0}
    for sub in stuck:
        if sub.attempts >= settings.EARTHBENCH_MAX_ATTEMPTS:
            lifecycle.submission_fail(
                submission_id=sub.pk,
                message=(
                    f"timed out: no result after {sub.attempts} attempts of up to "
                    f"{settings.EARTHBENCH_SCORING_TIMEOUT_S} s"
                ),
                # a container that started (e.g. a sleeper that hung its worker) counts
                counts=sub.container_started_at is not None,
            )
            counts["failed"] += 1
        else:
            lifecycle.submission_requeue(submission=sub, note="reaper: overdue, requeued")
            counts["requeued"] += 1
    return counts
