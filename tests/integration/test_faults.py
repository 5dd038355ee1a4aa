"""Workers dying mid-scoring, and the reaper, with real processes.

Scoring is made slow with a real setting rather than a test hook: a worker
started with EARTHBENCH_BOOTSTRAP_RESAMPLES=10**7 spends minutes on the
confidence intervals of an ordinary upload, long enough to be killed mid-run.
"""

from __future__ import annotations

import signal
import time

from earthbench.submissions import intake, tasks
from earthbench.submissions.models import Score, Submission
from tests.integration.conftest import redis_client, requires_services
from tests.platform.conftest import upload
from tests.platform.worker import celery_worker, wait_for

pytestmark = requires_services

SLOW = {"EARTHBENCH_BOOTSTRAP_RESAMPLES": 10**7}
# Redelivery of an unacknowledged message after 3 s; a redelivered task takes
# over a "running" submission after 2 s (production: 3600 s / 600 s).
FAST_RECOVERY = {"CELERY_VISIBILITY_TIMEOUT": 3, "EARTHBENCH_RETAKE_AFTER_S": 2}
# Longer than a worker's start-up on a loaded machine: the message is not yet
# due when a second worker starts, so only that worker's periodic sweep of the
# unacknowledged messages can hand it on.
LATE_RECOVERY = {"CELERY_VISIBILITY_TIMEOUT": 30, "EARTHBENCH_RETAKE_AFTER_S": 2}


def status_of(sub) -> str:
    return Submission.objects.values_list("status", flat=True).get(pk=sub.pk)


def kill_mid_scoring(sub, log_path) -> None:
    """Start a slow worker, wait until it runs ``sub``, then SIGKILL it."""
    with celery_worker(log_path, **SLOW, **FAST_RECOVERY) as proc:
        running = wait_for(lambda: status_of(sub) == "running", timeout=60)
        assert running, log_path.read_text(errors="replace")[-3000:]
        wait_for(lambda: False, timeout=1.5)  # well inside the bootstrap loop
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert status_of(sub) == "running"  # nobody recorded anything


def test_worker_killed_mid_scoring_submission_finishes_on_another(
    services, user, eurosat, perfect_csv, tmp_path
):
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    kill_mid_scoring(sub, tmp_path / "killed.log")
    with celery_worker(tmp_path / "second.log", **FAST_RECOVERY):
        done = wait_for(lambda: status_of(sub) in ("scored", "failed"), timeout=90)
    log = (tmp_path / "second.log").read_text(errors="replace")[-3000:]
    assert done, log
    sub.refresh_from_db()
    assert sub.status == "scored", sub.error
    assert sub.attempts == 2  # the killed run, then the retake
    assert sub.scores.filter(is_current=True).count() == 2
    assert list(sub.events.values_list("status", flat=True)) == [
        "queued",
        "running",
        "running",
        "scored",
    ]


def delivered_at() -> float:
    """When Redis handed out the (one) unacknowledged scoring message."""
    ((_, when),) = redis_client().zrange("unacked_index", 0, -1, withscores=True)
    return when


def started(log_path) -> bool:
    return b" ready." in log_path.read_bytes()


def test_worker_killed_beside_a_running_one_is_redelivered_by_its_sweep(
    services, user, eurosat, perfect_csv, tmp_path
):
    """Workers are long-lived: the one that takes over was already running
    (idle) when the other died, so the redelivery must come from its periodic
    sweep, not from the sweep every worker makes once at start-up. kombu's
    default sweeps only every 100 s (a 10 s timer that scans every 10th call);
    the settings make it sweep at a quarter of the visibility timeout."""
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    killed_log, survivor_log = tmp_path / "killed.log", tmp_path / "survivor.log"
    timeout = LATE_RECOVERY["CELERY_VISIBILITY_TIMEOUT"]
    with celery_worker(killed_log, **SLOW, **LATE_RECOVERY) as slow:
        assert wait_for(lambda: status_of(sub) == "running", timeout=60), (
            killed_log.read_text(errors="replace")[-3000:]
        )
        delivered = delivered_at()
        with celery_worker(survivor_log, **LATE_RECOVERY):
            assert wait_for(lambda: started(survivor_log), timeout=60), (
                survivor_log.read_text(errors="replace")[-3000:]
            )
            # Its start-up sweep is over, and came before the message was due.
            assert time.time() - delivered < timeout - 5, "the second worker started too late"
            assert status_of(sub) == "running"
            slow.send_signal(signal.SIGKILL)
            slow.wait(timeout=10)
            done = wait_for(lambda: status_of(sub) in ("scored", "failed"), timeout=90)
            taken_s = time.time() - delivered
    assert done, survivor_log.read_text(errors="replace")[-3000:]
    sub.refresh_from_db()
    assert sub.status == "scored", sub.error
    assert sub.attempts == 2
    assert list(sub.events.values_list("status", flat=True)) == [
        "queued",
        "running",
        "running",
        "scored",
    ]
    # Due after `timeout`; swept within a quarter of it (plus the scoring).
    assert timeout <= taken_s < timeout * 1.25 + 15, taken_s


def test_reaper_requeues_then_fails_a_stuck_submission(
    services, user, eurosat, perfect_csv, tmp_path, settings
):
    """A run whose worker died: the reaper requeues it while attempts remain,
    and fails it with a reason once they are used up; no scores appear."""
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    kill_mid_scoring(sub, tmp_path / "first.log")
    settings.EARTHBENCH_SCORING_TIMEOUT_S = 0
    settings.EARTHBENCH_MAX_ATTEMPTS = 2
    # Attempt 1 of 2 died: requeued.
    assert tasks.reap_stuck_submissions.apply().get() == {"requeued": 1, "failed": 0}
    assert status_of(sub) == "queued"
    # The requeued run dies as well (attempt 2 of 2) ...
    kill_mid_scoring(sub, tmp_path / "second.log")
    # ... so the reaper gives up with a reason.
    assert tasks.reap_stuck_submissions.apply().get() == {"requeued": 0, "failed": 1}
    sub.refresh_from_db()
    assert sub.status == "failed" and "timed out" in sub.error and sub.attempts == 2
    assert not Score.objects.filter(submission=sub).exists()
    assert sub.counts_against_quota is False
    # A redelivered message for it is now a no-op.
    with celery_worker(tmp_path / "late.log", **FAST_RECOVERY):
        wait_for(lambda: False, timeout=6)
    assert status_of(sub) == "failed"
