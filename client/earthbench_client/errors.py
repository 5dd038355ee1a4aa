"""Errors and the exit codes they map to (the CLI's contract with CI jobs)."""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_SERVER = 3


class EarthbenchError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_SERVER

    def to_json(self) -> dict[str, Any]:
        return {"code": type(self).__name__, "message": str(self)}


class UsageError(EarthbenchError):
    """Bad arguments or local input: fixing the command fixes it."""

    exit_code = EXIT_USAGE


class NetworkError(EarthbenchError):
    """The server could not be reached (or kept failing) after all retries."""

    exit_code = EXIT_SERVER


class WaitTimeout(EarthbenchError):
    """``--wait`` gave up before the submission finished."""

    exit_code = EXIT_SERVER


class ApiError(EarthbenchError):
    """The server answered with an error body ``{"error": {code, message, field}}``."""

    def __init__(
        self, status: int, message: str, *, code: str = "", field: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        # 4xx means the request itself is wrong (token, slug, file, key reuse) and
        # retrying the same command cannot help; 429 (quota) and 5xx are "later".
        if 400 <= self.status < 500 and self.status != 429:
            return EXIT_USAGE
        return EXIT_SERVER

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg} (field: {self.field})" if self.field else msg

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "message": super().__str__(),
            "field": self.field,
        }

    @classmethod
    def from_response(cls, response) -> ApiError:
        """Build from an httpx response, tolerating non-JSON bodies (proxies)."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return cls(
                status,
                str(err["message"]),
                code=str(err.get("code") or ""),
                field=err.get("field"),
            )
        if isinstance(body, dict) and "detail" in body:
            return cls(status, str(body["detail"]))
        text = (response.text or "").strip().splitlines()
        snippet = text[0][:200] if text else ""
        reason = response.reason_phrase or "error"
        return cls(
            status, f"HTTP {status} {reason}" + (f": {snippet}" if snippet else "")
        )
