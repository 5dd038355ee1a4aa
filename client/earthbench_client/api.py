"""The REST endpoints the CLI uses, as plain methods returning decoded JSON."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from earthbench_client.errors import WaitTimeout
from earthbench_client.http import Client
from earthbench_client.progress import Progress
from earthbench_client.uploads import (
    ChunkedOptions,
    UploadRequest,
    UploadResult,
    upload_chunked,
    upload_multipart,
)

FINISHED = frozenset({"scored", "failed", "cancelled"})


class Api:
    def __init__(self, client: Client):
        self.client = client

    def _pages(self, url: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Follow ``next`` links of the paginated list endpoints."""
        next_url: str | None = url
        while next_url:
            body = self.client.get_json(next_url, params=params)
            params = None  # the ``next`` link already carries them
            if isinstance(body, list):  # an unpaginated list
                yield from body
                return
            yield from body.get("results", [])
            next_url = body.get("next")

    def benchmarks(self) -> list[dict]:
        return list(self._pages("/api/v1/benchmarks/"))

    def benchmark(self, slug: str) -> dict:
        return self.client.get_json(f"/api/v1/benchmarks/{slug}/")

    def leaderboard(self, slug: str, split: str = "public") -> dict:
        return self.client.get_json(
            f"/api/v1/benchmarks/{slug}/leaderboard/", params={"split": split}
        )

    def quota(self, slug: str) -> dict:
        return self.client.get_json("/api/v1/me/quota/", params={"benchmark": slug})

    def submission(self, submission_id: int) -> dict:
        return self.client.get_json(f"/api/v1/submissions/{submission_id}/")

    def submissions(
        self, *, benchmark: str | None = None, limit: int = 20
    ) -> list[dict]:
        params = {"limit": limit}
        if benchmark:
            params["benchmark"] = benchmark
        body = self.client.get_json("/api/v1/submissions/", params=params)
        return body.get("results", []) if isinstance(body, dict) else body

    def cancel(self, submission_id: int) -> dict:
        return self.client.post_json(f"/api/v1/submissions/{submission_id}/cancel/")

    def submit(
        self, req: UploadRequest, *, progress: Progress | None = None
    ) -> UploadResult:
        return upload_multipart(self.client, req, progress=progress)

    def submit_chunked(
        self,
        req: UploadRequest,
        *,
        sha256: str,
        options: ChunkedOptions | None = None,
        progress: Progress | None = None,
    ) -> UploadResult:
        """Resumable upload (create, PUT chunks, complete), then the submission."""
        return upload_chunked(
            self.client, req, sha256=sha256, options=options, progress=progress
        )

    def wait(
        self,
        submission_id: int,
        *,
        timeout: float,
        on_status: Callable[[dict], None] | None = None,
        interval: float = 1.0,
        max_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict:
        """Poll until scored/failed/cancelled; WaitTimeout after ``timeout`` s."""
        deadline = clock() + timeout
        last_status = None
        while True:
            sub = self.submission(submission_id)
            if sub.get("status") != last_status:
                last_status = sub.get("status")
                if on_status:
                    on_status(sub)
            if last_status in FINISHED:
                return sub
            left = deadline - clock()
            if left <= 0:
                raise WaitTimeout(
                    f"submission #{submission_id} is still {last_status} after "
                    f"{timeout:g} s; check later with: earthbench status {submission_id}"
                )
            sleep(min(interval, left))
            interval = min(max_interval, interval * 1.5)
