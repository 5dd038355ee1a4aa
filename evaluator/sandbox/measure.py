"""Peak RAM, process count and limit events of a running container.

Where the engine uses the ``cgroupfs`` driver, each job gets its own cgroup
parent (``/earthbench/<job>``). The container's own cgroup disappears the moment
it exits, but the parent stays until we remove it, and its peak-memory file
(``memory.max_usage_in_bytes`` on cgroup v1, ``memory.peak`` on v2) covers the
whole run, however short. While the container runs, a sampler also reads its
own cgroup (peak memory, ``pids.current``, ``pids.events``) and, as a last
resort when no cgroup file is visible (e.g. a worker inside a container), the
engine's stats API.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CGROUP_ROOT = Path(os.environ.get("EARTHBENCH_CGROUP_ROOT", "/sys/fs/cgroup"))


def cgroup_version(root: Path = CGROUP_ROOT) -> int:
    """2 on a unified hierarchy, else 1 (hybrid setups count as v1)."""
    return 2 if (root / "cgroup.controllers").exists() else 1


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_kv(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


@dataclass(frozen=True)
class CgroupFiles:
    """Where one cgroup's counters live (v1: per controller; v2: one folder)."""

    memory: Path
    pids: Path
    version: int

    @classmethod
    def at(cls, rel: str, root: Path = CGROUP_ROOT) -> CgroupFiles:
        rel = rel.strip("/")
        if cgroup_version(root) == 2:
            return cls(root / rel, root / rel, 2)
        return cls(root / "memory" / rel, root / "pids" / rel, 1)

    def exists(self) -> bool:
        return self.memory.is_dir()

    def peak_memory(self) -> int | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return _read_int(self.memory / name)

    def pids_current(self) -> int | None:
        return _read_int(self.pids / "pids.current")

    def pids_max_events(self) -> int:
        return _read_kv(self.pids / "pids.events").get("max", 0)

    def oom_kills(self) -> int:
        if self.version == 2:
            return _read_kv(self.memory / "memory.events").get("oom_kill", 0)
        return _read_kv(self.memory / "memory.oom_control").get("oom_kill", 0)


def container_cgroup(
    container_id: str, parent: str | None, root: Path = CGROUP_ROOT
) -> CgroupFiles | None:
    """The container's own cgroup, trying the usual driver layouts."""
    candidates = [f"{parent.strip('/')}/{container_id}"] if parent else []
    candidates += [
        f"docker/{container_id}",
        f"system.slice/docker-{container_id}.scope",
    ]
    for rel in candidates:
        cg = CgroupFiles.at(rel, root)
        if cg.exists():
            return cg
    return None


def remove_cgroup_parent(
    parent: str, root: Path = CGROUP_ROOT, wait_s: float = 2.0
) -> bool:
    """rmdir the per-job parent in every hierarchy; True when none is left.

    The runtime removes the container's own cgroup asynchronously, so the parent
    may be busy for a moment after the container is gone.
    """
    rel = parent.strip("/")
    if not rel:
        return True
    try:
        dirs = (
            [root / rel]
            if cgroup_version(root) == 2
            else [p / rel for p in root.iterdir()]
        )
    except OSError:
        return False
    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for d in dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                left.append(d)
        if not left or time.monotonic() > deadline:
            break
        dirs = left
        time.sleep(0.05)
    return not left


@dataclass
class Usage:
    peak_memory_bytes: int | None = None
    peak_pids: int | None = None
    pids_limit_hit: bool = False
    oom_events: int = 0
    peak_gpu_memory_bytes: int | None = None


class Sampler:
    """Polls a running container until stopped; keeps the maxima in ``usage``."""

    def __init__(
        self,
        container: Any,
        parent: str | None,
        interval_s: float = 0.1,
        gpu: Any | None = None,
        root: Path = CGROUP_ROOT,
    ):
        self.usage = Usage()
        self._container = container
        self._parent = parent
        self._interval = interval_s
        self._gpu = gpu
        self._root = root
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="sandbox-sampler", daemon=True
        )
        self._cg: CgroupFiles | None = None

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> Usage:
        self._stop.set()
        self._thread.join(timeout=10)
        self._final()
        return self.usage

    def _max(self, attr: str, value: int | None) -> None:
        if value is not None:
            cur = getattr(self.usage, attr)
            setattr(self.usage, attr, value if cur is None else max(cur, value))

    def _loop(self) -> None:
        tries = 0
        while not self._stop.is_set():
            if self._cg is None and tries < 50:
                tries += 1
                self._cg = container_cgroup(
                    self._container.id, self._parent, self._root
                )
            self._sample(self._cg)
            self._stop.wait(self._interval)

    def _sample(self, cg: CgroupFiles | None) -> None:
        if self._gpu is not None:
            self._guard(lambda: self._max("peak_gpu_memory_bytes", self._gpu.sample()))
        if cg is None:
            self._guard(self._sample_stats)
            return
        self._max("peak_memory_bytes", cg.peak_memory())
        self._max("peak_pids", cg.pids_current())
        if cg.pids_max_events():
            self.usage.pids_limit_hit = True
        self.usage.oom_events = max(self.usage.oom_events, cg.oom_kills())

    def _sample_stats(self) -> None:
        stats = self._container.stats(stream=False, one_shot=True)
        mem = stats.get("memory_stats") or {}
        self._max("peak_memory_bytes", mem.get("max_usage") or mem.get("usage"))
        self._max("peak_pids", (stats.get("pids_stats") or {}).get("current"))

    @staticmethod
    def _guard(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:  # a measurement must never fail the run
            pass

    def _final(self) -> None:
        """The parent cgroup outlives the container: its peak covers the whole run."""
        if self._parent:
            parent = CgroupFiles.at(self._parent, self._root)
            self._max("peak_memory_bytes", parent.peak_memory())
            if parent.pids_max_events():
                self.usage.pids_limit_hit = True
            self.usage.oom_events = max(self.usage.oom_events, parent.oom_kills())
        if self._gpu is not None:
            self._guard(lambda: self._max("peak_gpu_memory_bytes", self._gpu.sample()))
