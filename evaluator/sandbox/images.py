"""Images the platform loads are tracked, and removed once no job needs them.

A loaded participant image is removed after its run, after every refusal
(ours or the engine's), and by the reaper when the worker that loaded it died.
Each job that loads an image holds a *lease*: a file
``<work_root>/.images/<sha256 hex>/<job id>``, written before ``docker load``
(the id is known from validation) so a crash at any point leaves a trace.
The image is removed when its last lease is released. The reaper drops a lease
whose job has no container on the engine and that is older than
``grace_s`` (the time a live worker may take between loading and creating its
container), then removes images left without leases.

An image that was on the engine before and that no lease tracks (an operator's
image with the same content) is never removed.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEASE_DIR = ".images"
_HEX = re.compile(r"^[0-9a-f]{64}$")
_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_GRACE_S = float(os.environ.get("EARTHBENCH_IMAGE_LEASE_GRACE_S", 1800))


def _hex(image_id: str) -> str:
    h = image_id.removeprefix("sha256:")
    if not _HEX.match(h):
        raise ValueError(f"not an image id: {image_id!r}")
    return h


def image_exists(client: Any, image_id: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image_id)
    except ImageNotFound:
        return False
    return True


def remove_image(client: Any, image_id: str) -> bool:
    """Remove an image unless a container still uses it; True when it is gone."""
    from docker.errors import APIError, ImageNotFound

    try:
        client.images.remove(image_id, force=False, noprune=False)
    except ImageNotFound:
        return True
    except APIError:  # 409: a container (maybe another job's) still uses it
        return False
    return True


@dataclass
class Lease:
    image_id: str
    job_id: str
    owned: bool  # False: the image was on the engine before, untracked


class ImageLeases:
    """The lease folder of one engine's work root (same host as the engine)."""

    def __init__(self, work_root: Path, grace_s: float = DEFAULT_GRACE_S):
        self.root = Path(work_root) / LEASE_DIR
        self.grace_s = grace_s

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def tracked(self) -> list[str]:
        """Image ids with a lease folder (live leases or awaiting removal)."""
        if not self.root.is_dir():
            return []
        return sorted(
            "sha256:" + p.name for p in self.root.iterdir() if _HEX.match(p.name)
        )

    def acquire(self, client: Any, image_id: str, job_id: str) -> Lease:
        """Record that ``job_id`` is about to load ``image_id``."""
        if not _JOB.match(job_id):
            raise ValueError(f"job id {job_id!r} is not valid for a lease")
        d = self.root / _hex(image_id)
        with self._locked():
            if not d.is_dir() and image_exists(client, image_id):
                return Lease(image_id, job_id, owned=False)
            d.mkdir(exist_ok=True)
            (d / job_id).write_text(f"{time.time():.0f}\n")
        return Lease(image_id, job_id, owned=True)

    def refresh(self, lease: Lease) -> None:
        """Re-date (or re-create, if the reaper took it) an owned lease."""
        if not lease.owned:
            return
        d = self.root / _hex(lease.image_id)
        with self._locked():
            d.mkdir(exist_ok=True)
            (d / lease.job_id).write_text(f"{time.time():.0f}\n")

    def release(self, client: Any, lease: Lease) -> bool:
        """Drop the lease; remove the image when no lease is left. True if gone."""
        if not lease.owned:
            return False
        d = self.root / _hex(lease.image_id)
        with self._locked():
            (d / lease.job_id).unlink(missing_ok=True)
            return self._remove_if_free(client, lease.image_id, d)

    def _remove_if_free(self, client: Any, image_id: str, d: Path) -> bool:
        if d.is_dir() and any(d.iterdir()):
            return False
        if not remove_image(client, image_id):
            return False  # kept (empty) for the reaper's next pass
        if d.is_dir():
            d.rmdir()
        return True

    def reap(self, client: Any, now: float | None = None) -> list[str]:
        """Remove tracked images that no live job holds; returns their ids."""
        from evaluator.sandbox.runner import LABEL_JOB

        now = time.time() if now is None else now
        with_container = {
            (c.labels or {}).get(LABEL_JOB)
            for c in client.containers.list(all=True, filters={"label": LABEL_JOB})
        }
        removed = []
        with self._locked():
            for image_id in self.tracked():
                d = self.root / _hex(image_id)
                for lease in list(d.iterdir()):
                    stale = lease.stat().st_mtime + self.grace_s < now
                    if lease.name not in with_container and stale:
                        lease.unlink(missing_ok=True)
                if self._remove_if_free(client, image_id, d):
                    removed.append(image_id)
        return removed
