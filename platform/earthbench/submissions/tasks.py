"""Celery entry points: take primary keys, call services. Idempotent, acks_late.

The arrow runs one way: this module imports the services; intake and the life
cycle send these tasks by name (``dispatch.py``) and never import it.
"""

from contextlib import nullcontext

from celery import shared_task

from earthbench.submissions import attempt, containers, reaper
from earthbench.submissions.heartbeat import Heartbeat


@shared_task(acks_late=True, reject_on_worker_lost=True)
def score_submission(*, submission_id: int) -> str | None:
    with _heartbeat(score_submission, submission_id):
        sub = attempt.score_file_submission(submission_id=submission_id)
    return sub.status if sub else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_container_submission(*, submission_id: int) -> str | None:
    with _heartbeat(run_container_submission, submission_id):
        sub = containers.submission_run_container(submission_id=submission_id)
    return sub.status if sub else None


def _heartbeat(task, submission_id: int):
    """Heartbeats from worker processes only (an eager call has no worker)."""
    return nullcontext() if task.request.is_eager else Heartbeat(submission_id)


@shared_task
def reap_stuck_submissions() -> dict:
    lost = reaper.reap_lost_runs()  # dead workers (stale heartbeat) and lost messages
    overdue = reaper.reap_stuck_submissions()  # runs past the scoring timeout
    return {k: lost[k] + overdue[k] for k in overdue}


@shared_task
def reap_containers() -> list[str]:
    return containers.reap_containers()
