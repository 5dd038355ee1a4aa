"""Hand a submission to the workers: its Celery task is named, not imported.

Intake and the life cycle enqueue through here and never import ``tasks.py``;
``tasks.py`` imports the services (one way). A prediction file goes to
``score_submission`` (queue ``scoring``), a container to
``run_container_submission`` (queue ``gpu``); the queues come from
``CELERY_TASK_ROUTES``, keyed by these names.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

from earthbench.submissions.models import Submission

log = logging.getLogger(__name__)

SCORE_TASK = "earthbench.submissions.tasks.score_submission"
CONTAINER_TASK = "earthbench.submissions.tasks.run_container_submission"


def task_name(submission: Submission) -> str:
    return CONTAINER_TASK if submission.kind == Submission.Kind.CONTAINER else SCORE_TASK


def send(name: str, **kwargs):
    """Send task ``name``. Eager mode (tests, ``CELERY_TASK_ALWAYS_EAGER=1``) runs
    it here, so the app's autodiscovered tasks are loaded to find it by name."""
    app = current_app
    if app.conf.task_always_eager:
        if name not in app.tasks:
            app.loader.import_default_modules()
        return app.tasks[name].apply_async(kwargs=kwargs)
    return app.send_task(name, kwargs=kwargs)


def enqueue(submission: Submission) -> None:
    """Send the submission's task once the current transaction commits."""
    name, sub_id = task_name(submission), submission.pk

    def on_commit() -> None:
        from kombu.exceptions import OperationalError

        try:
            send(name, submission_id=sub_id)
        except OperationalError:
            # Broker unreachable. The row and its file are committed, so the
            # upload is kept and reported as queued; the reaper re-enqueues it
            # (queued longer than EARTHBENCH_SCORING_TIMEOUT_S) once the broker
            # is back. Raising here would turn a saved submission into a 500.
            log.exception("could not enqueue submission %s; the reaper will retry", sub_id)

    transaction.on_commit(on_commit)
