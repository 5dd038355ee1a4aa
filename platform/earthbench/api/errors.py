"""One error body everywhere: ``{"error": {"code", "message", "field"}}``."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from earthbench.accounts.teams import TeamError
from earthbench.benchmarks.selectors import BenchmarkNotFound
from earthbench.submissions.errors import (
    IdempotencyConflict,
    QuotaExceeded,
    SubmissionRefused,
)
from earthbench.submissions.selectors import SubmissionNotFound


def _first_message(detail):
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg, _ = _first_message(value)
            return msg, (None if key == "non_field_errors" else key)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail), None


def exception_handler(exc, context):
    if isinstance(exc, BenchmarkNotFound):
        body = {"code": exc.code, "message": str(exc), "field": "benchmark",
                "suggestions": exc.suggestions}
        return Response({"error": body}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, SubmissionNotFound):  # missing, or someone else's: the same answer
        return Response({"error": {"code": "not_found", "message": str(exc), "field": None}}, status=404)
    if isinstance(exc, TeamError):
        return Response({"error": {"code": "refused", "message": str(exc), "field": None}}, status=400)
    if isinstance(exc, SubmissionRefused):
        from earthbench.submissions.uploads import UploadConflict

        code = {
            UploadConflict: status.HTTP_409_CONFLICT,
            QuotaExceeded: status.HTTP_429_TOO_MANY_REQUESTS,
            IdempotencyConflict: status.HTTP_409_CONFLICT,
        }.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response(
            {"error": {"code": exc.code, "message": str(exc), "field": exc.field}}, status=code
        )
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        message, field = _first_message(exc.detail)
        code = exc.get_codes()
        while isinstance(code, dict | list) and code:
            code = next(iter(code.values())) if isinstance(code, dict) else code[0]
        # Every error has a code a script can branch on, even DRF's bare 404s.
        code = str(code or "") or {404: "not_found"}.get(response.status_code, "error")
        field = field or getattr(exc, "field", None)
        response.data = {"error": {"code": code, "message": message, "field": field}}
    return response
