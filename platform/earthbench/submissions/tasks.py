"""Celery entry points: take primary keys, call services. Idempotent, acks_late."""

from celery import shared_task

from earthbench.submissions import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def score_submission(*, submission_id: int) -> str | None:
    sub = services.submission_score(submission_id=submission_id)
    return sub.status if sub else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_container_submission(*, submission_id: int) -> str | None:
    from earthbench.submissions.containers import submission_run_container

    sub = submission_run_container(submission_id=submission_id)
    return sub.status if sub else None


@shared_task
def reap_stuck_submissions() -> dict:
    return services.reap_stuck_submissions()


@shared_task
def reap_containers() -> list[str]:
    from earthbench.submissions.containers import reap_containers as reap

    return reap()
