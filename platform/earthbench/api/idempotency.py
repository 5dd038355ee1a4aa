"""``Idempotency-Key`` for every creating POST (see IdempotencyRecord)."""

from __future__ import annotations

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from earthbench.api.models import IdempotencyRecord


class IdempotencyConflictError(APIException):
    status_code = 409
    default_code = "idempotency_conflict"
    default_detail = "Idempotency-Key was already used for a different request"


def _conflict(request, found) -> IdempotencyConflictError:
    """Name the fields that differ, where the first response shows their value (an
    upload's filename and size, a team's name); only the request's hash is kept."""
    body = found.body if isinstance(found.body, dict) else {}
    # A value may sit one level down (``{"benchmark", "team": {"name", ...}}``).
    nested = {k: v for part in body.values() if isinstance(part, dict) for k, v in part.items()}
    body = {**nested, **body}
    data = request.data if hasattr(request.data, "items") else {}
    differ = [
        f"{k}: {str(v)[:60]!r} here, {str(body[k])[:60]!r} then"
        for k, v in data.items()
        if k in body and str(body[k]) != str(v)
    ]
    exc = IdempotencyConflictError(
        "Idempotency-Key was already used for a different request"
        + (f" ({'; '.join(differ)})" if differ else "")
        + ". Use a new key for a new request"
    )
    exc.field = next((k for k in data if k in body and str(body[k]) != str(data[k])), None)
    return exc


def _request_hash(request) -> str:
    try:
        payload = json.dumps(request.data, sort_keys=True, default=str)
    except TypeError:
        payload = repr(request.data)
    return hashlib.sha256(f"{request.path}\n{payload}".encode()).hexdigest()


def idempotent(view_method):
    """Wrap an APIView ``post``: replay the stored response for a repeated key."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 200:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"Idempotency-Key": "at most 200 characters"})
        digest = _request_hash(request)
        found = IdempotencyRecord.objects.filter(user=request.user, key=key, endpoint=request.path).first()
        if found is not None:
            if found.request_hash != digest:
                raise _conflict(request, found)
            return Response(found.body, status=found.status_code)
        response = view_method(self, request, *args, **kwargs)
        if response.status_code < 300:
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        user=request.user, key=key, endpoint=request.path,
                        request_hash=digest, status_code=response.status_code, body=response.data,
                    )
            except IntegrityError:  # a concurrent twin stored first: answer as it did
                first = IdempotencyRecord.objects.get(user=request.user, key=key, endpoint=request.path)
                return Response(first.body, status=first.status_code)
        return response

    return wrapper
