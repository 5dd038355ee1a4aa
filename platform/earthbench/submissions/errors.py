"""Why a submission request is refused: one exception family for the API's and
the website's error answers (``api/errors.py`` maps each to its HTTP status)."""

from __future__ import annotations


class SubmissionRefused(Exception):
    """The request cannot be accepted (quota, closed benchmark, wrong kind...)."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class QuotaExceeded(SubmissionRefused):
    code = "quota_exceeded"


class IdempotencyConflict(SubmissionRefused):
    code = "idempotency_conflict"


class SuiteRefused(SubmissionRefused):
    code = "suite_takes_no_submissions"
