"""The reaper: what a dead worker leaves behind is removed (beat, periodically).

A worker killed mid-run leaves its container (running), its job folder (with
the ``/output`` tmpfs mounted) and its loaded image. ``acks_late`` re-delivers
the task; :func:`reap_expired` cleans up after the old attempt.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from evaluator.sandbox.images import ImageLeases
from evaluator.sandbox.measure import remove_cgroup_parent
from evaluator.sandbox.outputfs import unmount_output
from evaluator.sandbox.runner import (
    _JOB_ID,
    CGROUP_PARENT_ROOT,
    LABEL_DEADLINE,
    LABEL_JOB,
    LABEL_WORKDIR,
)


def reap_expired(
    client: Any, now: float | None = None, work_root: Path | None = None
) -> list[str]:
    """Remove sandbox containers past their deadline label; returns their job ids.

    Run periodically (a worker can die mid-run and leave its container). The
    caller marks those jobs failed or retries them; folders are removed only
    when they lie under ``work_root``. With ``work_root``, images the platform
    loaded there that no live job holds are removed too
    (:meth:`ImageLeases.reap`).
    """
    now = time.time() if now is None else now
    reaped = []
    for c in client.containers.list(all=True, filters={"label": LABEL_JOB}):
        labels = c.labels or {}
        try:
            deadline = float(labels.get(LABEL_DEADLINE, "0"))
        except ValueError:
            deadline = 0.0
        if deadline > now:
            continue
        try:
            c.remove(force=True, v=True)
        except Exception:
            continue  # removed meanwhile by its own worker
        job = labels.get(LABEL_JOB, "")
        reaped.append(job)
        if _JOB_ID.match(job):
            remove_cgroup_parent(f"/{CGROUP_PARENT_ROOT}/{job}")
        workdir = Path(labels.get(LABEL_WORKDIR) or "/nonexistent")
        if work_root is not None and workdir.resolve().parent == work_root.resolve():
            unmount_output(workdir / "output")
            shutil.rmtree(workdir, ignore_errors=True)
    if work_root is not None:
        ImageLeases(work_root).reap(client, now)
    return reaped
