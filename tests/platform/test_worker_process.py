"""The scoring pipeline with a real worker process and the embedded broker."""

import pytest

from earthbench.celery import app as celery_app
from earthbench.submissions import intake
from earthbench.submissions.models import Submission
from tests.platform.conftest import upload
from tests.platform.worker import celery_worker, wait_for


@pytest.fixture
def real_broker():
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = old


@pytest.mark.slow
def test_real_worker_scores_submission(user, eurosat, perfect_csv, truth_rows, real_broker, tmp_path):
    bad = ("id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows[:3])).encode()
    with celery_worker(tmp_path / "worker.log"):
        good, _ = intake.submission_create(user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv")
        failed, _ = intake.submission_create(user=user, benchmark=eurosat, file=upload(bad), filename="b.csv")
        done = wait_for(
            lambda: Submission.objects.filter(pk__in=[good.pk, failed.pk], status__in=["scored", "failed"]).count() == 2,
            timeout=90,
        )
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert done, log[-3000:]
    good.refresh_from_db()
    failed.refresh_from_db()
    assert good.status == "scored" and good.scores.filter(split="public").get().primary_value == 1.0
    assert failed.status == "failed" and "test id(s) missing" in failed.error
