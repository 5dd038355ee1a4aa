"""``/output`` as a size-capped tmpfs, so its caps hold while the container runs.

A plain bind mount of a host folder has no quota: a container could fill the
worker's disk (``fallocate``, many files) before the post-exit check runs. In
``tmpfs`` mode (the default) the worker mounts, on the job's ``output/``
folder, a tmpfs with

- ``size`` = ``Limits.output_max_mb``: data, ``fallocate`` and page-cache
  writes beyond it fail with ENOSPC;
- ``nr_inodes`` = ``Limits.output_max_files`` + a few: more files fail with
  ENOSPC;
- ``nosuid,nodev,noexec`` and ``uid/gid`` = the container's user, ``mode=0755``.

Its pages are charged to the memory cgroup of the process that writes them,
i.e. to the container: outputs count against ``Limits.memory_mb`` too, so the
host never holds more than the container's own memory limit. A sparse write
costs nothing on tmpfs; its apparent size is stopped by the ``fsize`` ulimit
and refused by the post-exit check. Inside the container ``/output`` is the
root of its own filesystem, so ``/proc/self/mountinfo`` does not show the job's
host path for it.

Mounting needs ``CAP_SYS_ADMIN`` in the mount namespace the engine sees (a
root worker on the host, or a worker container with the sandbox folder
mounted ``rshared``). ``EARTHBENCH_SANDBOX_OUTPUT=bind`` restores the plain
bind mount (caps checked after exit only) where that is impossible.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from evaluator.sandbox.limits import MIB

MODES = ("tmpfs", "bind")
_SPARE_INODES = 16  # the root folder and a few subfolders


def output_mode(value: str | None = None) -> str:
    """The configured mode (``EARTHBENCH_SANDBOX_OUTPUT``; default ``tmpfs``)."""
    mode = (value or os.environ.get("EARTHBENCH_SANDBOX_OUTPUT") or "tmpfs").strip()
    if mode not in MODES:
        raise ValueError(
            f"EARTHBENCH_SANDBOX_OUTPUT={mode!r}: expected one of {', '.join(MODES)}"
        )
    return mode


def tmpfs_options(*, max_mb: int, max_files: int, uid: int, gid: int) -> str:
    return (
        f"size={max_mb * MIB},nr_inodes={max_files + _SPARE_INODES},"
        f"mode=0755,uid={uid},gid={gid},nosuid,nodev,noexec"
    )


def mount_output(
    path: Path, *, max_mb: int, max_files: int, uid: int, gid: int
) -> None:
    """Mount the capped tmpfs on ``path`` (an existing empty folder)."""
    opts = tmpfs_options(max_mb=max_mb, max_files=max_files, uid=uid, gid=gid)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "earthbench-output", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"cannot mount the size-capped /output tmpfs on {path}: "
            f"{proc.stderr.strip() or proc.returncode} (the worker needs "
            "CAP_SYS_ADMIN; EARTHBENCH_SANDBOX_OUTPUT=bind checks the caps only "
            "after exit)"
        )


def unmount_output(path: Path) -> None:
    """Unmount (lazily) the tmpfs on ``path`` when one is mounted there."""
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
