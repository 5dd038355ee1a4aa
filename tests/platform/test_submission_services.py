from datetime import timedelta

import pytest
from django.utils import timezone
from sklearn.metrics import accuracy_score

from earthbench.accounts.teams import team_of
from earthbench.submissions import errors, intake, lifecycle, quota, reaper
from earthbench.submissions.models import Score, Submission
from tests.platform.conftest import csv_bytes, upload


def submit(user, bench, content, **kw):
    return intake.submission_create(
        user=user, benchmark=bench, file=upload(content), filename="p.csv", **kw
    )


def test_scored_on_both_splits_in_one_pass(user, eurosat, truth_rows, half_right_csv):
    sub, created = submit(user, eurosat, half_right_csv)  # eager Celery in tests
    sub.refresh_from_db()
    assert created and sub.status == Submission.Status.SCORED, sub.error
    scores = {s.split: s for s in sub.scores.all()}
    assert set(scores) == {"public", "private"}
    # Recompute each split independently with sklearn.
    import json

    from earthbench import storage

    splits = json.loads((storage.private_dir(eurosat.slug) / "splits.json").read_text())
    truth = dict(truth_rows)
    pred = dict(
        line.split(",") for line in half_right_csv.decode().splitlines()[1:]
    )
    for name, ids in splits.items():
        expected = accuracy_score([truth[i] for i in ids], [pred[i] for i in ids])
        assert scores[name].primary_value == pytest.approx(expected, abs=1e-12)
        lo, hi = scores[name].ci["oa"]
        assert lo <= scores[name].primary_value <= hi
    assert sub.file_sha256 and sub.file_size == len(half_right_csv)
    assert [e.status for e in sub.events.all()] == ["queued", "running", "scored"]


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda rows: rows[:1] + [(rows[1][0], "Forrest")] + rows[2:], 'label \'Forrest\' is not one of the 10 classes'),
        (lambda rows: rows[:-3], "3 test id(s) missing"),
        (lambda rows: rows + [rows[0]], "duplicate id"),
    ],
)
def test_malformed_csv_fails_with_specific_error(user, eurosat, truth_rows, mutate, fragment):
    sub, _ = submit(user, eurosat, csv_bytes(mutate(list(truth_rows))))
    sub.refresh_from_db()
    assert sub.status == Submission.Status.FAILED
    assert fragment in sub.error
    assert "p.csv" in sub.error
    assert not Score.objects.filter(submission=sub).exists()  # nothing half-saved
    assert sub.counts_against_quota is False


def test_wrong_header_error(user, eurosat, truth_rows):
    content = csv_bytes(truth_rows).replace(b"id,label", b"image,class", 1)
    sub, _ = submit(user, eurosat, content)
    sub.refresh_from_db()
    assert sub.status == "failed" and "header must be 'id,label'" in sub.error and "line 1" in sub.error


def test_idempotency_key_returns_original_and_conflicts_on_other_body(user, eurosat, perfect_csv, half_right_csv):
    a, created_a = submit(user, eurosat, perfect_csv, idempotency_key="k1")
    b, created_b = submit(user, eurosat, perfect_csv, idempotency_key="k1")
    assert created_a and not created_b and a.pk == b.pk
    assert Submission.objects.filter(created_by=user).count() == 1
    with pytest.raises(errors.IdempotencyConflict):
        submit(user, eurosat, half_right_csv, idempotency_key="k1")


def test_daily_quota_counts_valid_only_and_resets_at_utc_midnight(user, eurosat, perfect_csv, truth_rows):
    eurosat.daily_quota = 2
    eurosat.save()
    bad = csv_bytes(truth_rows[:-1])
    for _ in range(3):
        submit(user, eurosat, bad)  # invalid uploads do not count
    submit(user, eurosat, perfect_csv)
    submit(user, eurosat, perfect_csv)
    with pytest.raises(errors.QuotaExceeded, match="daily quota of 2"):
        submit(user, eurosat, perfect_csv)
    tomorrow = quota.utc_day_start() + timedelta(days=1, seconds=1)
    q = quota.quota_for(team=team_of(user=user, benchmark=eurosat), benchmark=eurosat, now=tomorrow)
    assert q.used == 0 and q.remaining == 2
    Submission.objects.update(created_at=timezone.now() - timedelta(days=1))
    sub, _ = submit(user, eurosat, perfect_csv)
    assert sub.pk


def test_submission_start_refuses_finished_and_duplicate_runs(user, eurosat, perfect_csv, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sub, _ = submit(user, eurosat, perfect_csv, enqueue=False)
    first = lifecycle.submission_start(submission_id=sub.pk)
    assert first.status == "running"
    # a duplicate message while the first worker is alive does nothing
    assert lifecycle.submission_start(submission_id=sub.pk) is None
    # after the retake window without a heartbeat the run is taken over (the first worker died)
    past = timezone.now() - timedelta(hours=2)
    Submission.objects.filter(pk=sub.pk).update(started_at=past, heartbeat_at=past)
    again = lifecycle.submission_start(submission_id=sub.pk)
    assert again is not None and again.attempts == 2


def test_reaper_requeues_then_fails_overdue(user, eurosat, perfect_csv, settings):
    settings.EARTHBENCH_MAX_ATTEMPTS = 2
    sub, _ = submit(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_start(submission_id=sub.pk)
    late = timezone.now() + timedelta(seconds=settings.EARTHBENCH_SCORING_TIMEOUT_S + 5)
    # attempt 1 overdue → requeued (and, eager, scored at once)
    assert reaper.reap_stuck_submissions(now=late) == {"requeued": 1, "failed": 0}
    sub.refresh_from_db()
    assert sub.status == "scored"
    # a hung second attempt at the attempt limit → failed with a reason
    Submission.objects.filter(pk=sub.pk).update(status="running", attempts=2, started_at=timezone.now())
    assert reaper.reap_stuck_submissions(now=late) == {"requeued": 0, "failed": 1}
    sub.refresh_from_db()
    assert sub.status == "failed" and "timed out" in sub.error
    assert "reaper" in " ".join(e.note for e in sub.events.all())


def test_cancel_only_queued(user, eurosat, perfect_csv):
    sub, _ = submit(user, eurosat, perfect_csv, enqueue=False)
    lifecycle.submission_cancel(submission=sub, user=user)
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    with pytest.raises(errors.SubmissionRefused):
        lifecycle.submission_cancel(submission=sub, user=user)


def test_container_kind_refused_where_not_accepted(user, eurosat, perfect_csv):
    eurosat.accepts_containers = False
    eurosat.save()
    with pytest.raises(errors.SubmissionRefused, match="does not accept model containers"):
        submit(user, eurosat, perfect_csv, kind="container")


def test_deadline_closes_submissions(user, eurosat, perfect_csv):
    eurosat.deadline = timezone.now() - timedelta(minutes=1)
    eurosat.save()
    with pytest.raises(errors.SubmissionRefused, match="closed"):
        submit(user, eurosat, perfect_csv)


def test_uploaded_file_stored_durably_with_sha256(user, eurosat, perfect_csv):
    import hashlib

    from earthbench import storage

    sub, _ = submit(user, eurosat, perfect_csv)
    path = storage.absolute(sub.file_path)
    assert path.read_bytes() == perfect_csv
    assert sub.file_sha256 == hashlib.sha256(perfect_csv).hexdigest()
    assert not list(path.parent.glob(".upload-*"))


def test_storage_refuses_paths_outside_root():
    from earthbench import storage

    with pytest.raises(ValueError):
        storage.absolute("../../etc/passwd")
    assert storage.safe_filename("../../evil name.csv") == "evil_name.csv"
