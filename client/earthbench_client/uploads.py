"""Sending a submission file to the server, streamed from disk.

Today the server takes one multipart ``POST /api/v1/submissions/``. Everything
that knows how the bytes travel is in this module, so a resumable/chunked upload
endpoint can later be chosen here (e.g. above a size threshold) without touching
the CLI or the wait/threshold logic.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earthbench_client.http import UPLOAD_TIMEOUT, Client
from earthbench_client.progress import Progress, ProgressReader


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


def upload_multipart(
    client: Client, req: UploadRequest, *, progress: Progress | None = None
) -> UploadResult:
    """One streamed multipart POST; 201 = new submission, 200 = idempotent repeat."""
    size = req.path.stat().st_size
    progress = progress or Progress("upload", size, enabled=False)
    progress.total = size
    filename = req.filename or req.path.name
    content_type = (
        "application/x-tar"
        if req.kind == "container"
        else mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    data = {"benchmark": req.benchmark, "kind": req.kind}
    data.update({k: v for k, v in req.metadata.items() if v})
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
