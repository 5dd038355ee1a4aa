"""Heartbeat recovery on PostgreSQL + Redis (issue 18): a worker SIGKILLed
mid-scoring is recovered by the reaper from its stale heartbeat, not by Redis's
redelivery (left at its one-hour default here), and a queued submission whose
message is gone from Redis gets a new one."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from earthbench.submissions import heartbeat, intake, reaper
from earthbench.submissions.models import Score, Submission
from tests.integration.conftest import purge_queues, requires_services
from tests.platform.conftest import upload
from tests.platform.worker import celery_worker, wait_for

pytestmark = requires_services

SLOW = {"EARTHBENCH_BOOTSTRAP_RESAMPLES": 10**7}
# EB_TEST_* run it with the defaults (10 s / 60 s / 30 s) to measure them.
FAST_HEARTBEAT = {
    "EARTHBENCH_HEARTBEAT_S": os.environ.get("EB_TEST_HEARTBEAT_S", "0.5"),
    "EARTHBENCH_HEARTBEAT_TIMEOUT_S": os.environ.get("EB_TEST_HEARTBEAT_TIMEOUT_S", "5"),
    "EARTHBENCH_REAP_EVERY_S": os.environ.get("EB_TEST_REAP_EVERY_S", "2"),
}


def status_of(sub) -> str:
    return Submission.objects.values_list("status", flat=True).get(pk=sub.pk)


def test_sigkilled_worker_is_recovered_by_heartbeat_on_redis(
    services, user, eurosat, perfect_csv, tmp_path
):
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    with celery_worker(tmp_path / "killed.log", **SLOW, **FAST_HEARTBEAT) as proc:
        beating = wait_for(  # a beat after the start
            lambda: Submission.objects.filter(pk=sub.pk, heartbeat_at__gt=F("started_at")).exists(),
            timeout=90,
        )
        assert beating, (tmp_path / "killed.log").read_text(errors="replace")[-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    killed_at = time.monotonic()
    assert status_of(sub) == "running"
    log = tmp_path / "second.log"
    with celery_worker(log, "--beat", "--schedule", str(tmp_path / "beat"), **FAST_HEARTBEAT):
        done = wait_for(lambda: status_of(sub) in ("scored", "failed"), timeout=120)
        recovered_s = time.monotonic() - killed_at
        time.sleep(3)  # a duplicate run would show here
    assert done, log.read_text(errors="replace")[-3000:]
    sub.refresh_from_db()
    assert sub.status == "scored", sub.error
    assert recovered_s < 120
    assert sub.attempts == 2
    assert list(sub.events.values_list("status", flat=True)) == [
        "queued", "running", "queued", "running", "scored",
    ]
    assert Score.objects.filter(submission=sub).count() == 2
    print(f"PG+Redis: SIGKILL -> scored in {recovered_s:.1f} s with {FAST_HEARTBEAT}")


def test_queued_submission_without_a_redis_message_is_requeued(
    services, user, eurosat, perfect_csv, settings
):
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
    )
    assert heartbeat.waiting_submission_ids() == {sub.pk}
    past = timezone.now() - timedelta(seconds=settings.EARTHBENCH_QUEUED_ORPHAN_S + 1)
    Submission.objects.filter(pk=sub.pk).update(updated_at=past)
    assert reaper.reap_lost_runs() == {"requeued": 0, "failed": 0}
    purge_queues()  # the message is lost
    assert heartbeat.waiting_submission_ids() == set()
    assert reaper.reap_lost_runs() == {"requeued": 1, "failed": 0}
    assert heartbeat.waiting_submission_ids() == {sub.pk}
