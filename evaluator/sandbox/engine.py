"""Connection to the Docker engine and image import.

The docker SDK is used rather than the CLI: typed arguments instead of string
flags (no quoting bugs in security options), structured errors, ``wait`` with a
timeout, streamed logs, and the image id returned by ``load`` — and it talks to
the daemon directly, so no CLI/daemon version skew matters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evaluator.errors import ValidationError
from evaluator.sandbox.images import ImageLeases, Lease, image_exists, remove_image
from evaluator.sandbox.imagetar import (
    ImageInfo,
    check_config,
    load_stream,
    validate_image_tar,
)
from evaluator.sandbox.limits import ImageCaps


def docker_client(timeout: int = 120) -> Any:
    """A docker SDK client from the environment (``DOCKER_HOST`` or the socket)."""
    import docker

    return docker.from_env(timeout=timeout)


def engine_problem() -> str | None:
    """None when an engine answers, else why not (for skips and health checks)."""
    try:
        import docker
    except ImportError:
        docker = None
    # Without the SDK, `import docker` can find the repository's docker/ folder.
    if not hasattr(docker, "from_env"):
        return "the docker SDK is not installed (pip install docker)"
    try:
        client = docker_client(timeout=10)
        client.ping()
        client.close()
    except Exception as exc:  # any failure means "no engine"
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"no Docker engine answers at {host}: {exc}"
    return None


def load_image(
    client: Any,
    path: str | os.PathLike,
    caps: ImageCaps | None = None,
    *,
    leases: ImageLeases | None = None,
    job_id: str | None = None,
) -> ImageInfo:
    """Validate, load without tags, and return the info pinned by image id.

    The id the daemon reports must equal the sha256 of the validated config, so
    the submission is pinned to exactly what was checked. When anything refuses
    the image after it reached the engine (the engine itself, the id check, the
    re-check of the daemon's view), the image is removed again — unless it was
    on the engine before. With ``leases`` the load is recorded under
    ``job_id`` first (see :mod:`evaluator.sandbox.images`); the caller then
    releases it after the run (or uses :func:`loaded_image`).
    """
    return _load(client, Path(path), caps or ImageCaps(), leases, job_id)[0]


def _load(
    client: Any,
    path: Path,
    caps: ImageCaps,
    leases: ImageLeases | None,
    job_id: str | None,
) -> tuple[ImageInfo, Lease | None]:
    info = validate_image_tar(path, caps)
    if leases is not None:
        if not job_id:
            raise ValueError("load_image with leases needs a job_id")
        lease = leases.acquire(client, info.image_id, job_id)
        owned = lease.owned
    else:
        lease, owned = None, not image_exists(client, info.image_id)
    try:
        _load_checked(client, path, info, caps)
    except BaseException:
        if lease is not None and leases is not None:
            leases.release(client, lease)
        elif owned:
            remove_image(client, info.image_id)
        raise
    if lease is not None and leases is not None:
        leases.refresh(lease)  # a long load must not look like a dead worker's
    return info, lease


@contextmanager
def loaded_image(
    client: Any,
    path: str | os.PathLike,
    leases: ImageLeases,
    job_id: str,
    caps: ImageCaps | None = None,
) -> Iterator[ImageInfo]:
    """``load_image`` under a lease; the image is removed on leaving the block
    (when no other job holds it), whatever happened inside."""
    info, lease = _load(client, Path(path), caps or ImageCaps(), leases, job_id)
    assert lease is not None
    try:
        yield info
    finally:
        leases.release(client, lease)


def _load_checked(client: Any, path: Path, info: ImageInfo, caps: ImageCaps) -> None:
    from docker.errors import APIError, ImageLoadError

    try:
        loaded = client.images.load(load_stream(path))
    except (ImageLoadError, APIError) as exc:
        raise ValidationError(
            f"{path.name}: the engine refused the image ({exc})"
        ) from None
    ids = {img.id for img in loaded}
    if ids != {info.image_id}:
        for other in ids - {info.image_id}:
            remove_image(client, other)
        raise ValidationError(
            f"{path.name}: loaded image id {sorted(ids)} differs from the validated "
            f"config {info.image_id}"
        )
    # Defence in depth: the daemon's own view must pass the same rules.
    attrs = client.images.get(info.image_id).attrs
    check_config(
        {
            "architecture": attrs.get("Architecture"),
            "os": attrs.get("Os"),
            "config": attrs.get("Config") or {},
        },
        caps,
        path.name,
    )
