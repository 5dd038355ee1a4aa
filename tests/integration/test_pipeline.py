"""The scoring pipeline on Postgres + Redis with real worker processes, and what
happens to queued work when the broker crashes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from earthbench.submissions import intake
from earthbench.submissions.models import Score, Submission, SubmissionEvent
from tests.integration.conftest import redis_crash_and_restart, requires_services
from tests.platform.conftest import csv_bytes, upload
from tests.platform.worker import celery_worker, wait_for

pytestmark = requires_services

SUBMIT = "/api/v1/submissions/"


def finished(pks, timeout=120):
    return wait_for(
        lambda: (
            Submission.objects.filter(
                pk__in=pks, status__in=["scored", "failed"]
            ).count()
            == len(pks)
        ),
        timeout=timeout,
    )


def worker_log(path) -> str:
    return path.read_text(errors="replace")[-4000:]


def test_api_submission_scored_by_two_workers_end_to_end(
    services, api, eurosat, perfect_csv, half_right_csv, truth_rows, tmp_path
):
    """Upload over the API → Redis → one of two workers → Score rows on Postgres →
    leaderboard; an invalid file fails with the evaluator's message and no scores."""
    bad = csv_bytes(truth_rows[:3])
    with celery_worker(tmp_path / "w1.log"), celery_worker(tmp_path / "w2.log"):
        ids = []
        for name, content in [
            ("good", perfect_csv),
            ("half", half_right_csv),
            ("bad", bad),
        ]:
            r = api.post(
                SUBMIT,
                {
                    "benchmark": eurosat.slug,
                    "file": upload(content),
                    "method_name": name,
                },
                format="multipart",
                HTTP_IDEMPOTENCY_KEY=f"it-{name}",
            )
            assert r.status_code == 201, r.content
            ids.append(r.json()["id"])
        done = finished(ids)
    assert done, worker_log(tmp_path / "w1.log") + worker_log(tmp_path / "w2.log")
    good, half, bad_sub = (Submission.objects.get(pk=i) for i in ids)
    assert good.status == half.status == "scored"
    assert good.scores.get(split="public", is_current=True).primary_value == 1.0
    assert 0.3 < half.scores.get(split="public", is_current=True).primary_value < 0.7
    assert bad_sub.status == "failed" and "test id(s) missing" in bad_sub.error
    assert not Score.objects.filter(submission=bad_sub).exists()
    # Each ran exactly once even with two workers consuming the queue.
    for sub in (good, half, bad_sub):
        assert sub.attempts == 1
        assert (
            SubmissionEvent.objects.filter(submission=sub, status="running").count()
            == 1
        )
    board = APIClient().get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/").json()
    assert board["results"][0]["method_name"] == "good"


def test_queued_submissions_survive_a_broker_crash(
    services, user, eurosat, perfect_csv, tmp_path
):
    """Submissions queued with no worker running; Redis is SIGKILLed and
    restarted from its append-only file; a worker started afterwards scores all."""
    eurosat.max_in_flight = 50
    eurosat.save()
    subs = [
        intake.submission_create(
            user=user, benchmark=eurosat, file=upload(perfect_csv), filename=f"p{i}.csv"
        )[0]
        for i in range(5)
    ]
    redis_crash_and_restart()
    with celery_worker(tmp_path / "worker.log"):
        done = finished([s.pk for s in subs])
    assert done, worker_log(tmp_path / "worker.log")
    assert set(
        Submission.objects.filter(pk__in=[s.pk for s in subs]).values_list(
            "status", flat=True
        )
    ) == {"scored"}


def test_submit_while_broker_is_down_is_kept_and_recovered(
    services, api, eurosat, perfect_csv, tmp_path, settings
):
    """The upload is accepted and stored while Redis is down (the client gets a
    queued submission, not a 500); once Redis is back the reaper re-enqueues it
    and a worker that reconnected scores it."""
    from earthbench.submissions import tasks

    responses = []

    def submit_during_outage():
        responses.append(
            api.post(
                SUBMIT,
                {"benchmark": eurosat.slug, "file": upload(perfect_csv)},
                format="multipart",
                HTTP_IDEMPOTENCY_KEY="during-outage",
            )
        )

    with celery_worker(tmp_path / "worker.log"):
        redis_crash_and_restart(during=submit_during_outage)
        (r,) = responses
        assert r.status_code == 201, r.content
        sub = Submission.objects.get(pk=r.json()["id"])
        assert sub.status == "queued" and sub.file_sha256
        # The reaper's queued-too-long rule, with a short timeout for the test.
        settings.EARTHBENCH_SCORING_TIMEOUT_S = 0
        assert tasks.reap_stuck_submissions.apply().get() == {
            "requeued": 1,
            "failed": 0,
        }
        done = finished([sub.pk])
    assert done, worker_log(tmp_path / "worker.log")
    sub.refresh_from_db()
    assert sub.status == "scored"


@pytest.mark.parametrize("n", [12])
def test_many_concurrent_submissions_no_duplicates(
    services, user, eurosat, perfect_csv, tmp_path, n
):
    """Two workers, many messages: every submission scored exactly once."""
    eurosat.max_in_flight = eurosat.daily_quota = 50
    eurosat.save()
    with celery_worker(tmp_path / "w1.log"), celery_worker(tmp_path / "w2.log"):
        subs = [
            intake.submission_create(
                user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
            )[0]
            for _ in range(n)
        ]
        done = finished([s.pk for s in subs], timeout=180)
    assert done, worker_log(tmp_path / "w1.log")
    for s in subs:
        s.refresh_from_db()
        assert s.status == "scored" and s.attempts == 1
        assert s.scores.filter(is_current=True).count() == 2
