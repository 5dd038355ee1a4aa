"""The audit trail: every transition of a submission is a ``SubmissionEvent``."""

from __future__ import annotations

from earthbench.submissions.models import Submission, SubmissionEvent


def record_event(submission: Submission, status: str, note: str = "") -> None:
    SubmissionEvent.objects.create(submission=submission, status=status, note=note[:2000])
