"""Resource limits of one sandboxed run and caps on an uploaded image."""

from __future__ import annotations

import os
from dataclasses import dataclass

MIB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Limits:
    """What one container run may use. Sizes in MiB, time in seconds."""

    time_s: float = 600.0
    memory_mb: int = 4096  # RAM; swap is disabled (memory-swap = memory)
    cpus: float = 2.0
    gpus: int = 0  # 0 or 1: one job per GPU, pinned by UUID
    pids: int = 256
    tmpfs_mb: int = 1024  # /tmp
    shm_mb: int = 64  # /dev/shm
    fsize_mb: int = 1024  # largest single file the container may write
    nofile: int = 4096
    output_max_files: int = 100_000
    output_max_mb: int = 2048
    log_tail_kb: int = 64  # what is kept of stdout/stderr (the tail)

    def __post_init__(self) -> None:
        if self.gpus not in (0, 1):
            raise ValueError("gpus must be 0 or 1 (one job per GPU)")
        for name in ("time_s", "memory_mb", "cpus", "pids", "tmpfs_mb", "fsize_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB

    @property
    def nano_cpus(self) -> int:
        return int(self.cpus * 1e9)


@dataclass(frozen=True)
class ImageCaps:
    """Caps checked on an uploaded ``docker save`` tarball before loading it."""

    max_total_bytes: int = _env_int("EARTHBENCH_IMAGE_MAX_BYTES", 20 * 1024 * MIB)
    max_member_bytes: int = _env_int(
        "EARTHBENCH_IMAGE_MAX_MEMBER_BYTES", 10 * 1024 * MIB
    )
    max_members: int = _env_int("EARTHBENCH_IMAGE_MAX_MEMBERS", 10_000)
    # Entries inside all layers together (files, folders, links once unpacked).
    max_layer_members: int = _env_int("EARTHBENCH_IMAGE_MAX_LAYER_MEMBERS", 1_000_000)
    # Unpacked image size at most this many times the upload (gzip bombs).
    max_inflation_ratio: int = _env_int("EARTHBENCH_IMAGE_MAX_INFLATION_RATIO", 100)
    max_json_bytes: int = 4 * MIB  # manifest / config documents
    architecture: str = "amd64"
    os: str = "linux"
