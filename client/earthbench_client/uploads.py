"""Sending a submission file to the server, streamed from disk.

Two ways, both streamed (the file is never loaded into memory):

- ``upload_multipart``: one multipart ``POST /api/v1/submissions/``; a retry sends
  the whole file again. Fine for small files.
- ``upload_chunked``: the resumable upload API. ``POST /uploads/`` → ``PUT`` chunks
  at ``Upload-Offset`` → ``POST /uploads/{id}/complete/`` with the sha256 →
  ``POST /submissions/`` with ``upload=<id>``. A chunk that fails (connection
  dropped, 5xx, 409 offset mismatch) is resumed from the offset the server reports,
  never from zero, and the upload id is saved (``resume.UploadState``) so a later
  run of the same command continues the same upload.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from earthbench_client.errors import (
    ApiError,
    EarthbenchError,
    NetworkError,
    UsageError,
)
from earthbench_client.http import CHUNK_TIMEOUT, UPLOAD_TIMEOUT, Client, describe
from earthbench_client.progress import Progress, ProgressReader
from earthbench_client.resume import UploadState

MIB = 1 << 20
# Files this large or larger go through the resumable chunked upload by default.
CHUNKED_THRESHOLD = 32 * MIB
DEFAULT_CHUNK_SIZE = 16 * MIB
MAX_CHUNK_SIZE = 64 * MIB  # the server refuses larger chunks
READ_BLOCK = MIB  # bytes read from disk at a time while a chunk streams


@dataclass
class UploadRequest:
    benchmark: str
    path: Path
    kind: str = "predictions"
    metadata: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    filename: str | None = None


@dataclass
class UploadResult:
    submission: dict[str, Any]
    created: bool
    max_read: int = 0  # largest single read from the file (bytes); proves streaming
    upload_id: str | None = None  # the chunked upload used, if any
    resumed_at: int | None = None  # offset an earlier run's upload continued from


class ChunkedUnsupported(EarthbenchError):
    """The server has no chunked upload endpoint (an older deployment)."""


class UploadInterrupted(EarthbenchError):
    """Stopped on purpose mid-upload (the test hook); the upload stays open."""


@dataclass
class ChunkedOptions:
    chunk_size: int = DEFAULT_CHUNK_SIZE
    # Where the upload id is kept for a later run; None: not kept.
    state: UploadState | None = None
    # Test hook (EARTHBENCH_TEST_ABORT_AFTER_CHUNKS): stop after N chunks.
    abort_after_chunks: int | None = None
    log: Callable[[str], None] = field(default=lambda _msg: None)


def upload_multipart(
    client: Client, req: UploadRequest, *, progress: Progress | None = None
) -> UploadResult:
    """One streamed multipart POST; 201 = new submission, 200 = idempotent repeat."""
    size = req.path.stat().st_size
    progress = progress or Progress("upload", size, enabled=False)
    progress.total = size
    filename = req.filename or req.path.name
    content_type = _content_type(filename, req.kind)
    data = _submission_fields(req)
    headers = {"Idempotency-Key": req.idempotency_key} if req.idempotency_key else {}
    with open(req.path, "rb") as fh:
        reader = ProgressReader(fh, progress)
        response = client.request(
            "POST",
            "/api/v1/submissions/",
            data=data,
            files={"file": (filename, reader, content_type)},
            headers=headers,
            timeout=UPLOAD_TIMEOUT,
        )
    progress.finish()
    return UploadResult(
        submission=response.json(),
        created=response.status_code == 201,
        max_read=reader.max_read,
    )


def _content_type(filename: str, kind: str) -> str:
    if kind == "container":
        return "application/x-tar"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _submission_fields(req: UploadRequest) -> dict[str, str]:
    data = {"benchmark": req.benchmark, "kind": req.kind}
    data.update({k: v for k, v in req.metadata.items() if v})
    return data


def _transient(client: Client, response: httpx.Response, attempt: int) -> float | None:
    """Backoff before retrying a failed chunk, or None when retrying cannot help.

    Unlike a whole request, any 5xx is retried: the retry starts from the offset
    the server confirms, so it cannot duplicate or corrupt anything.
    """
    delay = client.retry_delay(response, attempt)
    if delay is None and response.status_code >= 500 and attempt < client.retries:
        delay = client.backoff_delay(attempt)
    return delay


def upload_chunked(
    client: Client,
    req: UploadRequest,
    *,
    sha256: str,
    options: ChunkedOptions | None = None,
    progress: Progress | None = None,
) -> UploadResult:
    """Resumable upload of ``req.path``, then the submission; see the module doc."""
    return _Chunked(client, req, sha256, options or ChunkedOptions(), progress).run()


class _Chunked:
    def __init__(
        self,
        client: Client,
        req: UploadRequest,
        sha256: str,
        options: ChunkedOptions,
        progress: Progress | None,
    ):
        if not 0 < options.chunk_size <= MAX_CHUNK_SIZE:
            raise UsageError(
                f"chunk size must be between 1 byte and {MAX_CHUNK_SIZE} bytes"
            )
        self.client = client
        self.req = req
        self.sha256 = sha256.lower()
        self.opts = options
        self.log = options.log
        self.size = req.path.stat().st_size
        self.filename = req.filename or req.path.name
        self.progress = progress or Progress("upload", self.size, enabled=False)
        self.progress.total = self.size
        self.max_read = 0
        self.chunks_sent = 0

    # ---------------------------------------------------------------- state

    def _state(self, op: str, *args: str) -> str | None:
        state = self.opts.state
        if state is None:
            return None
        return getattr(state, op)(self.client.base_url, self.sha256, self.size, *args)

    # ---------------------------------------------------------------- steps

    def run(self) -> UploadResult:
        upload_id, offset, status, resumed = self._open()
        self.progress.set(offset)
        if status != "complete":
            self._send(upload_id, offset)
            self._complete(upload_id)
        self.progress.finish()
        result = self._submit(upload_id)
        result.resumed_at = resumed
        self._state("remove")  # consumed: nothing left to resume
        return result

    def _open(self) -> tuple[str, int, str, int | None]:
        """(id, offset, status, resumed offset): a saved open upload, else a new one."""
        saved = self._state("get")
        body = self._lookup(saved) if saved else None
        if body is not None:
            offset, status = int(body.get("offset") or 0), body.get("status")
            if status == "open":
                self.log(
                    f"resuming at offset {offset} of {self.size} bytes "
                    f"(upload {saved} from an earlier run)"
                )
                return saved, offset, "open", offset
            if status == "complete":
                self.log(
                    f"upload {saved} from an earlier run is complete; submitting it"
                )
                return saved, self.size, "complete", self.size
        if saved:
            self._state("remove")
        try:
            body = self.client.post_json(
                "/api/v1/uploads/", json={"filename": self.filename, "size": self.size}
            )
        except ApiError as exc:
            if exc.status in (404, 405):
                raise ChunkedUnsupported(
                    "the server has no chunked upload endpoint"
                ) from None
            raise
        upload_id = str(body["id"])
        self._state("put", upload_id)
        self.log(f"chunked upload {upload_id}: {self.size} bytes")
        return upload_id, int(body.get("offset") or 0), "open", None

    def _lookup(self, upload_id: str) -> dict | None:
        """The saved upload if it can still be used (same size, not consumed)."""
        try:
            body = self.client.get_json(f"/api/v1/uploads/{upload_id}/")
        except ApiError as exc:
            if exc.status == 404:  # expired, deleted, or another account's
                return None
            raise
        if body.get("size") != self.size or body.get("status") == "consumed":
            return None
        return body

    def _offset(self, upload_id: str) -> int:
        body = self.client.get_json(f"/api/v1/uploads/{upload_id}/")
        return int(body["offset"])

    def _send(self, upload_id: str, offset: int) -> None:
        """PUT chunks until the server holds every byte; resume from its offset."""
        url = f"/api/v1/uploads/{upload_id}/"
        attempt = 0
        with open(self.req.path, "rb") as fh:
            while offset < self.size:
                n = min(self.opts.chunk_size, self.size - offset)
                stored, problem, delay = self._put(fh, url, offset, n, attempt)
                if stored is not None:
                    offset = self._accepted(upload_id, offset, stored)
                    attempt = 0
                    continue
                if delay is None:
                    raise NetworkError(
                        f"upload of {self.filename} stopped at byte {offset} of "
                        f"{self.size} after {attempt + 1} tries: {problem}; run the "
                        "same command again to resume"
                    )
                if delay:
                    self.log(f"{problem}; retrying in {delay:.1f}s")
                    self.client.sleep(delay)
                else:
                    self.log(problem)
                attempt += 1
                server = self._offset(upload_id)
                if server > offset:
                    attempt = 0  # the server got more: progress, not a stall
                offset = server
                self.progress.set(offset)
                self.log(f"resuming at offset {offset} of {self.size} bytes")

    def _accepted(self, upload_id: str, offset: int, stored: int) -> int:
        """Bookkeeping after a chunk the server accepted; returns its new offset."""
        if stored <= offset:
            raise NetworkError(
                f"the server accepted a chunk at byte {offset} but reports offset "
                f"{stored}; giving up"
            )
        self.chunks_sent += 1
        self.progress.set(stored)
        limit = self.opts.abort_after_chunks
        if limit is not None and self.chunks_sent >= limit:
            raise UploadInterrupted(
                f"stopped after {self.chunks_sent} chunk(s) at byte {stored} of "
                f"{self.size} (EARTHBENCH_TEST_ABORT_AFTER_CHUNKS); upload "
                f"{upload_id} stays open: run the same command again to resume"
            )
        return stored

    def _put(
        self, fh: IO[bytes], url: str, offset: int, n: int, attempt: int
    ) -> tuple[int | None, str, float | None]:
        """One chunk → (server offset, "", None) when stored, else
        (None, problem, backoff before re-reading the offset; None = give up)."""
        headers = {
            "Upload-Offset": str(offset),
            "Content-Length": str(n),  # the dev server cannot read chunked bodies
            "Content-Type": "application/octet-stream",
        }
        can_retry = attempt < self.client.retries
        try:
            response = self.client.send_once(
                "PUT",
                url,
                content=self._body(fh, offset, n),
                headers=headers,
                timeout=CHUNK_TIMEOUT,
            )
        except httpx.TransportError as exc:
            delay = self.client.backoff_delay(attempt) if can_retry else None
            return None, f"chunk at byte {offset} failed: {describe(exc)}", delay
        if response.is_success:
            return int(response.json()["offset"]), "", None
        if response.status_code == 409:
            # Our offset is stale (a "lost" chunk did arrive, or another run
            # appended): re-read it at once, there is nothing to wait for.
            message = ApiError.from_response(response)
            return None, f"offset mismatch ({message})", 0.0 if can_retry else None
        if response.status_code < 500 and response.status_code != 429:
            raise ApiError.from_response(response)
        delay = _transient(self.client, response, attempt)
        return (
            None,
            f"chunk at byte {offset}: server answered {response.status_code}",
            delay,
        )

    def _body(self, fh: IO[bytes], offset: int, n: int) -> Iterator[bytes]:
        """Stream ``n`` bytes from ``offset``, READ_BLOCK at a time."""
        fh.seek(offset)
        left = n
        while left:
            data = fh.read(min(READ_BLOCK, left))
            if not data:
                raise UsageError(f"{self.req.path} changed while being uploaded")
            left -= len(data)
            self.max_read = max(self.max_read, len(data))
            self.progress.update(len(data))
            yield data

    def _complete(self, upload_id: str) -> None:
        try:
            self.client.request(
                "POST",
                f"/api/v1/uploads/{upload_id}/complete/",
                json={"sha256": self.sha256},
                timeout=UPLOAD_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 400:
                # The bytes on the server are not this file: never resume them.
                self._state("remove")
            raise

    def _submit(self, upload_id: str) -> UploadResult:
        headers = (
            {"Idempotency-Key": self.req.idempotency_key}
            if self.req.idempotency_key
            else {}
        )
        response = self.client.request(
            "POST",
            "/api/v1/submissions/",
            data=_submission_fields(self.req),
            # (None, value): a plain multipart field, so the body is multipart.
            files={"upload": (None, upload_id)},
            headers=headers,
            timeout=UPLOAD_TIMEOUT,
        )
        return UploadResult(
            submission=response.json(),
            created=response.status_code == 201,
            max_read=self.max_read,
            upload_id=upload_id,
        )
