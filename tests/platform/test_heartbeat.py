"""Heartbeats and the reaper for dead workers and lost messages (issue 18),
on the embedded default: SQLite and the SQLite broker."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from earthbench import storage
from earthbench.celery import app as celery_app
from earthbench.submissions import heartbeat, intake, lifecycle, reaper, scoring
from earthbench.submissions.models import Score, Submission
from tests.platform.conftest import upload
from tests.platform.worker import celery_worker, wait_for


@pytest.fixture
def real_broker():
    """Publish to the embedded broker for real, starting from empty queues."""
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        for q in ("scoring", "gpu"):
            conn.default_channel.queue_purge(q)
    yield
    celery_app.conf.task_always_eager = old


def make(user, eurosat, csv, **kw) -> Submission:
    sub, _ = intake.submission_create(user=user, benchmark=eurosat, file=upload(csv), filename="p.csv", **kw)
    return sub


def events(sub) -> list[str]:
    return list(sub.events.values_list("status", flat=True))


def age(sub, seconds: float, *fields: str) -> None:
    """Move the submission's clocks into the past (as if time had passed)."""
    past = timezone.now() - timedelta(seconds=seconds)
    Submission.objects.filter(pk=sub.pk).update(**{f: past for f in fields})


def test_heartbeat_refreshes_only_the_attempt_it_started(user, eurosat, perfect_csv):
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    with heartbeat.Heartbeat(sub.pk, interval=0.05) as hb:
        started = lifecycle.submission_start(submission_id=sub.pk).started_at
        assert wait_for(lambda: Submission.objects.get(pk=sub.pk).heartbeat_at > started, timeout=5)
        # Another worker takes the run over (attempt 2): this one no longer beats it.
        Submission.objects.filter(pk=sub.pk).update(attempts=2, heartbeat_at=None)
        time.sleep(0.3)
    assert hb.beats >= 1
    assert Submission.objects.get(pk=sub.pk).heartbeat_at is None


def test_reaper_requeues_a_run_whose_heartbeat_stopped(user, eurosat, perfect_csv, settings):
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_start(submission_id=sub.pk)
    age(sub, 30, "heartbeat_at", "started_at")
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}  # 30 s: alive
    age(sub, settings.EARTHBENCH_HEARTBEAT_TIMEOUT_S + 1, "heartbeat_at", "started_at")
    # Requeued; the eager test broker scores it at once (attempt 2).
    assert reaper.reap_lost_runs() == {"requeued": 1, "failed": 0}
    sub.refresh_from_db()
    assert sub.status == "scored" and sub.attempts == 2
    assert events(sub) == ["queued", "running", "queued", "running", "scored"]
    assert Score.objects.filter(submission=sub, is_current=True).count() == 2


def test_a_fresh_heartbeat_keeps_an_old_run(user, eurosat, perfect_csv, settings):
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_start(submission_id=sub.pk)
    age(sub, 3 * settings.EARTHBENCH_HEARTBEAT_TIMEOUT_S, "started_at")
    Submission.objects.filter(pk=sub.pk).update(heartbeat_at=timezone.now())
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}
    assert Submission.objects.get(pk=sub.pk).status == "running"


def test_reaper_fails_a_lost_run_after_the_last_attempt(user, eurosat, perfect_csv, settings):
    settings.EARTHBENCH_MAX_ATTEMPTS = 1
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_start(submission_id=sub.pk)
    age(sub, 600, "started_at", "heartbeat_at")
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 1}
    sub.refresh_from_db()
    assert sub.status == "failed" and "no heartbeat" in sub.error
    assert sub.counts_against_quota is False


def test_a_superseded_attempt_cannot_record_its_result(user, eurosat, perfect_csv, real_broker):
    """The first worker was only slow (its heartbeat stalled): the reaper handed
    the run to a second one. Only the current attempt records scores."""
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    first = lifecycle.submission_start(submission_id=sub.pk)
    results = scoring.compute_scores(
        benchmark=sub.benchmark, predictions_path=storage.absolute(first.file_path)
    )
    age(sub, 600, "started_at", "heartbeat_at")
    assert reaper.reap_lost_runs() == {"requeued": 1, "failed": 0}
    second = lifecycle.submission_start(submission_id=sub.pk)
    assert second.attempts == 2
    # The new attempt is alive (the old attempt's last beat is not its own).
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}
    assert lifecycle.submission_record_scores(submission_id=sub.pk, results=results, attempt=1) is False
    lifecycle.submission_fail(submission_id=sub.pk, message="late failure", attempt=1)
    assert Submission.objects.get(pk=sub.pk).status == "running"
    assert lifecycle.submission_record_scores(submission_id=sub.pk, results=results, attempt=2) is True
    assert Score.objects.filter(submission=sub).count() == 2


def test_queued_submission_with_no_message_is_requeued(user, eurosat, perfect_csv, real_broker, settings):
    """The embedded broker: a message that is waiting keeps the submission; one
    that is gone (lost publish, purged queue) gets a new message."""
    sub = make(user, eurosat, perfect_csv)
    assert heartbeat.waiting_submission_ids() == {sub.pk}
    age(sub, settings.EARTHBENCH_QUEUED_ORPHAN_S + 1, "updated_at")
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("scoring")
    assert heartbeat.waiting_submission_ids() == set()
    assert reaper.reap_lost_runs() == {"requeued": 1, "failed": 0}
    assert heartbeat.waiting_submission_ids() == {sub.pk}
    assert Submission.objects.get(pk=sub.pk).status == "queued"
    # Young queued submissions are left alone.
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}


# How fast recovery is in this test; the defaults (60 s heartbeat timeout,
# reaper every 30 s) are measured in docs/reliability.md.
FAST = {
    "EARTHBENCH_HEARTBEAT_S": os.environ.get("EB_TEST_HEARTBEAT_S", "0.5"),
    "EARTHBENCH_HEARTBEAT_TIMEOUT_S": os.environ.get("EB_TEST_HEARTBEAT_TIMEOUT_S", "5"),
    "EARTHBENCH_REAP_EVERY_S": os.environ.get("EB_TEST_REAP_EVERY_S", "2"),
}


@pytest.mark.slow(15)
def test_worker_sigkilled_mid_scoring_is_scored_exactly_once(user, eurosat, perfect_csv, real_broker, tmp_path):
    """A real worker process is SIGKILLed while it scores; the embedded broker
    never redelivers its message. A new worker (with beat, as `make demo` runs
    it) reaps the dead run by its stale heartbeat and scores it once."""
    sub = make(user, eurosat, perfect_csv)
    slow_log = tmp_path / "killed.log"
    with celery_worker(slow_log, EARTHBENCH_BOOTSTRAP_RESAMPLES=10**7, **FAST) as proc:
        beating = wait_for(lambda: Submission.objects.filter(  # a beat after the start
            pk=sub.pk, heartbeat_at__gt=F("started_at")).exists(), timeout=90)
        assert beating, slow_log.read_text(errors="replace")[-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    killed_at = time.monotonic()
    assert Submission.objects.get(pk=sub.pk).status == "running"
    log = tmp_path / "second.log"
    with celery_worker(log, "--beat", "--schedule", str(tmp_path / "beat-schedule"), **FAST):
        done = wait_for(
            lambda: Submission.objects.get(pk=sub.pk).status in ("scored", "failed"), timeout=120
        )
        recovered_s = time.monotonic() - killed_at
        time.sleep(3)  # any duplicate run would show up here
    assert done, log.read_text(errors="replace")[-3000:]
    sub.refresh_from_db()
    assert sub.status == "scored", sub.error
    assert recovered_s < 120
    assert sub.attempts == 2
    assert events(sub) == ["queued", "running", "queued", "running", "scored"]
    assert Score.objects.filter(submission=sub).count() == 2
    print(f"SIGKILL -> scored in {recovered_s:.1f} s with {FAST}")


@pytest.mark.slow(20)
def test_worker_sigkilled_beside_a_running_one_is_scored_by_it(user, eurosat, perfect_csv, real_broker, tmp_path):
    """The survivor (with beat) was already running, idle, when the other
    worker died: its reaper, not a start-up step, recovers the run (on Redis
    the same shape needs the broker's periodic sweep: tests/integration/test_faults.py)."""
    sub = make(user, eurosat, perfect_csv)
    slow_log, log = tmp_path / "killed.log", tmp_path / "survivor.log"
    with celery_worker(slow_log, EARTHBENCH_BOOTSTRAP_RESAMPLES=10**7, **FAST) as proc:
        beating = wait_for(lambda: Submission.objects.filter(
            pk=sub.pk, heartbeat_at__gt=F("started_at")).exists(), timeout=90)
        assert beating, slow_log.read_text(errors="replace")[-3000:]
        with celery_worker(log, "--beat", "--schedule", str(tmp_path / "beat-schedule"), **FAST):
            assert wait_for(lambda: b" ready." in log.read_bytes(), timeout=60), log.read_text()[-3000:]
            wait_for(lambda: False, timeout=3)  # its reaper runs (every 2 s) and leaves the live run alone
            assert Submission.objects.get(pk=sub.pk).attempts == 1
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            done = wait_for(
                lambda: Submission.objects.get(pk=sub.pk).status in ("scored", "failed"), timeout=120
            )
            time.sleep(3)  # any duplicate run would show up here
    assert done, log.read_text(errors="replace")[-3000:]
    sub.refresh_from_db()
    assert sub.status == "scored", sub.error
    assert sub.attempts == 2
    assert events(sub) == ["queued", "running", "queued", "running", "scored"]
    assert Score.objects.filter(submission=sub).count() == 2


def test_redelivered_message_leaves_a_long_run_with_a_fresh_heartbeat(user, eurosat, perfect_csv):
    """Redis redelivers an unacknowledged message after its visibility timeout
    even while a long run is healthy: the heartbeat, not the start, decides."""
    sub = make(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_start(submission_id=sub.pk)
    age(sub, 7200, "started_at")
    Submission.objects.filter(pk=sub.pk).update(heartbeat_at=timezone.now())
    assert lifecycle.submission_start(submission_id=sub.pk) is None
    assert Submission.objects.get(pk=sub.pk).attempts == 1
