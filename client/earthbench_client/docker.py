"""``docker save`` an image to a file, streamed, with progress."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from earthbench_client.errors import UsageError
from earthbench_client.progress import Progress

CHUNK = 1 << 20


def tarball_name(image: str) -> str:
    """A safe file name for the image reference (``ghcr.io/a/b:1`` → ``b-1.tar``)."""
    last = image.rsplit("/", 1)[-1]
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip("-.") or "image") + ".tar"


def docker_save(
    image: str, dest: Path, *, progress: Progress | None = None
) -> tuple[int, str]:
    """Write ``docker save IMAGE`` to ``dest``; returns (bytes, sha256 hex).

    The hash is computed on the way so a multi-GB tarball is not read twice.
    stdout is copied chunk by chunk (images are GBs); stderr goes to a temp file
    so a chatty docker cannot block on a full pipe while we read stdout.
    """
    exe = shutil.which("docker")
    if exe is None:
        raise UsageError(
            "docker is not installed or not on PATH (needed by push-image)"
        )
    progress = progress or Progress("docker save", enabled=False)
    written = 0
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as err, open(dest, "wb") as out:
        proc = subprocess.Popen(
            [exe, "save", image],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        try:
            while chunk := proc.stdout.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                progress.update(len(chunk))
        finally:
            proc.stdout.close()
            rc = proc.wait()
        err.seek(0)
        message = err.read().decode("utf-8", "replace").strip()
    progress.finish()
    if rc != 0:
        detail = message.splitlines()[-1] if message else f"exit status {rc}"
        raise UsageError(f"docker save {image} failed: {detail}")
    if written == 0:
        raise UsageError(f"docker save {image} produced no data")
    return written, digest.hexdigest()
