"""One scoring attempt, written once: start → predictions → compute → record-or-fail.

Both paths run through ``run_attempt``; they differ only in the step that
produces the predictions:

- a prediction file (``score_file_submission``): the uploaded file itself;
- a model container (``containers.submission_run_container``): the ``/output``
  of a run in the sandbox backend (``backends.py``, chosen by
  ``EARTHBENCH_SANDBOX_BACKEND``).

The step is a context manager taking the running submission and yielding
``Predictions``; what it holds (a sandbox job folder) is released when the
attempt ends. It raises ``AttemptFailed`` for an outcome the submitter is told
about (``counts``: whether it costs a submission of the quota).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import evaluator
from earthbench import storage
from earthbench.submissions import lifecycle
from earthbench.submissions.models import Submission
from earthbench.submissions.scoring import compute_scores

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    """What the predictions step produced."""

    path: Path
    efficiency: dict | None = None  # latency, memory... stored on the submission
    counts: bool = False  # an invalid result still counts against the quota (a container ran)


class AttemptFailed(Exception):
    """The attempt ends as ``failed`` with this message for the submitter."""

    def __init__(self, message: str, *, counts: bool = False):
        super().__init__(message)
        self.message = message
        self.counts = counts


PredictionsStep = Callable[[Submission], AbstractContextManager[Predictions]]


def run_attempt(
    *, submission_id: int, predictions: PredictionsStep, doing: str = "scoring"
) -> Submission | None:
    """Run one attempt of a submission; None if it is not this worker's to run.

    An invalid result (``evaluator.ValidationError``) fails with its one line;
    anything unexpected fails with "internal error while ``doing``", does not
    count against the quota, and is logged for the operators.
    """
    sub = lifecycle.submission_start(submission_id=submission_id)
    if sub is None:
        return None
    counts = False

    def fail(message: str, *, counts: bool) -> None:
        lifecycle.submission_fail(
            submission_id=sub.pk, message=message, counts=counts, attempt=sub.attempts
        )

    try:
        with predictions(sub) as pred:
            counts = pred.counts
            results = compute_scores(benchmark=sub.benchmark, predictions_path=pred.path)
            lifecycle.submission_record_scores(
                submission_id=sub.pk, results=results, efficiency=pred.efficiency,
                attempt=sub.attempts,
            )
    except AttemptFailed as exc:
        fail(exc.message, counts=exc.counts)
    except evaluator.ValidationError as exc:
        fail(str(exc), counts=counts)
    except Exception:
        log.exception("submission %s: %s failed", sub.pk, doing)
        fail(f"internal error while {doing}; the operators have been notified", counts=False)
    sub.refresh_from_db()
    return sub


@contextlib.contextmanager
def uploaded_file(sub: Submission) -> Iterator[Predictions]:
    """The predictions step of a prediction-file submission: its stored file."""
    yield Predictions(path=storage.absolute(sub.file_path))


def score_file_submission(*, submission_id: int) -> Submission | None:
    """Score a prediction-file submission end to end (the Celery task's body)."""
    return run_attempt(submission_id=submission_id, predictions=uploaded_file)
