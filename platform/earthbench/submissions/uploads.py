"""Resumable chunked uploads, so a dropped connection in CI does not restart
from zero: create (name, size) → PUT chunks at the current offset → complete
with the sha256 → submit with ``upload=<uuid>``."""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from earthbench import storage
from earthbench.submissions.errors import SubmissionRefused
from earthbench.submissions.models import Upload

CHUNK_MAX = 64 * 1024 * 1024


class UploadConflict(SubmissionRefused):
    code = "offset_mismatch"


def upload_create(*, user, filename: str, size: int) -> Upload:
    if size <= 0:
        raise SubmissionRefused("size must be positive", field="size")
    # The chunked path serves container tarballs too: the larger of the limits;
    # submission_create applies the per-kind limit when the upload is used.
    limit = max(settings.EARTHBENCH_MAX_UPLOAD_BYTES, settings.EARTHBENCH_MAX_CONTAINER_BYTES)
    if size > limit:
        raise SubmissionRefused(
            f"size {size} exceeds the upload limit of {limit} bytes", field="size"
        )
    up = Upload.objects.create(user=user, filename=storage.safe_filename(filename), size=size)
    path = storage.root() / up.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return up


@contextmanager
def _locked_file(path):
    """One writer per upload, without a database transaction: a slow client's
    body must not hold the (SQLite: database-wide) write lock while it streams."""
    with open(path, "r+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield fh
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def upload_append(*, upload: Upload, offset: int, chunks) -> Upload:
    """Append bytes at ``offset``, which must equal the bytes received so far."""
    with _locked_file(storage.absolute(upload.rel_path)) as fh:
        up = Upload.objects.get(pk=upload.pk)  # fresh: the lock holder before us may have appended
        if up.status != Upload.Status.OPEN:
            raise SubmissionRefused(f"upload is {up.status}; no more chunks accepted")
        if offset != up.offset:
            raise UploadConflict(
                f"chunk offset {offset} does not match the {up.offset} bytes received; "
                f"resume from {up.offset}"
            )
        written = 0
        fh.truncate(up.offset)  # drop any tail of an interrupted chunk
        fh.seek(up.offset)
        for chunk in chunks:
            written += len(chunk)
            if written > CHUNK_MAX or up.offset + written > up.size:
                raise SubmissionRefused(
                    f"chunk too large: the upload is {up.size} bytes, "
                    f"{up.offset} received, chunk limit {CHUNK_MAX}"
                )
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
        # The body has arrived: now one short write.
        moved = Upload.objects.filter(pk=up.pk, offset=up.offset, status=Upload.Status.OPEN).update(
            offset=up.offset + written, updated_at=timezone.now()
        )
        if not moved:
            raise UploadConflict("the upload changed while this chunk arrived; resume from its offset")
        up.offset += written
    return up


def upload_complete(*, upload: Upload, sha256: str) -> Upload:
    up = Upload.objects.get(pk=upload.pk)
    if up.status == Upload.Status.COMPLETE and up.sha256 == sha256.lower():
        return up
    if up.offset != up.size:
        raise UploadConflict(f"only {up.offset} of {up.size} bytes received")
    # Hash outside any transaction (gigabytes for a container tarball); no chunk
    # can land meanwhile: the upload is full and appends past its size are refused.
    digest = hashlib.sha256()
    with open(storage.absolute(up.rel_path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256.lower():
        raise SubmissionRefused(
            f"sha256 mismatch: received bytes hash to {digest.hexdigest()}", field="sha256"
        )
    with transaction.atomic():
        up = Upload.objects.select_for_update().get(pk=upload.pk)
        if up.status == Upload.Status.OPEN and up.offset == up.size:
            up.sha256 = digest.hexdigest()
            up.status = Upload.Status.COMPLETE
            up.save(update_fields=["sha256", "status", "updated_at"])
    return up


def upload_open(*, upload: Upload):
    """The bytes of a completed upload that is not used yet (``intake`` answers
    an idempotent repeat of a consumed one without reading it again)."""
    if upload.status == Upload.Status.OPEN:
        raise SubmissionRefused(
            f"upload is incomplete ({upload.offset} of {upload.size} bytes)", field="upload"
        )
    if upload.status == Upload.Status.CONSUMED:
        raise SubmissionRefused("this upload was already used by a submission", field="upload")
    return open(storage.absolute(upload.rel_path), "rb")


def upload_claim(*, upload: Upload) -> bool:
    """Mark a completed upload consumed, atomically: False if another request
    already consumed it (two parallel uses of one upload: exactly one wins)."""
    return bool(
        Upload.objects.filter(pk=upload.pk, status=Upload.Status.COMPLETE).update(
            status=Upload.Status.CONSUMED
        )
    )


def upload_release(*, upload: Upload) -> None:
    """Give a claimed upload back (the work that claimed it failed: nothing was made)."""
    Upload.objects.filter(pk=upload.pk, status=Upload.Status.CONSUMED).update(
        status=Upload.Status.COMPLETE
    )
