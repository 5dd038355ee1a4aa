"""Celery entry points: take primary keys, call services. Idempotent, acks_late."""

from contextlib import nullcontext

from celery import shared_task

from earthbench.submissions import services
from earthbench.submissions.heartbeat import Heartbeat, reap_lost_runs


@shared_task(acks_late=True, reject_on_worker_lost=True)
def score_submission(*, submission_id: int) -> str | None:
    with _heartbeat(score_submission, submission_id):
        sub = services.submission_score(submission_id=submission_id)
    return sub.status if sub else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_container_submission(*, submission_id: int) -> str | None:
    from earthbench.submissions.containers import submission_run_container

    with _heartbeat(run_container_submission, submission_id):
        sub = submission_run_container(submission_id=submission_id)
    return sub.status if sub else None


def _heartbeat(task, submission_id: int):
    """Heartbeats from worker processes only (an eager call has no worker)."""
    return nullcontext() if task.request.is_eager else Heartbeat(submission_id)


@shared_task
def reap_stuck_submissions() -> dict:
    lost = reap_lost_runs()  # dead workers (stale heartbeat) and lost messages
    overdue = services.reap_stuck_submissions()  # runs past the scoring timeout
    return {k: lost[k] + overdue[k] for k in overdue}


@shared_task
def reap_containers() -> list[str]:
    from earthbench.submissions.containers import reap_containers as reap

    return reap()
