"""Scoring in a forked child with a memory and a CPU-time limit (issue 18).

Whatever a prediction file makes the evaluator do, it happens in a child
process: the worker only forks, waits and reads the pickled result back. A file
that needs more memory than ``EARTHBENCH_SCORING_MEMORY_MB`` or more CPU time
than ``EARTHBENCH_SCORING_CPU_S`` ends as a :class:`ScoringLimitExceeded` (a
``ValidationError``: the submission fails with that one line) and the worker
lives on.

- Memory: ``RLIMIT_DATA`` of the child is set to what it holds at the fork plus
  ``EARTHBENCH_SCORING_MEMORY_MB``. RLIMIT_DATA (Linux >= 4.7) counts the heap
  and every private writable mapping (numpy buffers, Python arenas, thread
  stacks) but not shared libraries or read-only file mappings, so the
  memory-mapped ``similarity.npy`` of the retrieval kinds and CUDA's address
  space reservations do not count, as they would under RLIMIT_AS.
- CPU: ``RLIMIT_CPU``; the kernel sends SIGXCPU at the limit (SIGKILL 5 s later).
- Fork, not spawn: the worker already has Django, numpy and (if installed) torch
  imported, so the child starts in about a millisecond instead of re-importing
  for seconds. The parent never runs the evaluator itself any more, so it holds
  no OpenMP pool or CUDA context that a child could inherit in a bad state; each
  child initialises CUDA for itself.

Both prediction-file and container submissions reach the evaluator through
``scoring.compute_scores``, which calls :func:`run_limited` in one place.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from evaluator.errors import ValidationError

T = TypeVar("T")
MB = 1 << 20
_CPU_GRACE_S = 5


class ScoringLimitExceeded(ValidationError):
    """The scoring child crossed the memory or CPU-time limit."""


class ScoringCrashed(RuntimeError):
    """The scoring child failed in an unexpected way (a bug, not the file)."""


def memory_message(memory_mb: int) -> str:
    return (
        f"exceeded the scoring memory limit of {memory_mb} MB; the predictions "
        "need far more memory than any valid file for this benchmark (check "
        "image sizes, array shapes and the file size)"
    )


def cpu_message(cpu_s: int) -> str:
    return (
        f"exceeded the scoring CPU-time limit of {cpu_s} s; the predictions take "
        "far longer to score than any valid file for this benchmark"
    )


def _vm_data_bytes() -> int:
    """VmData of this process (what RLIMIT_DATA counts), 0 if unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel SIGKILLs this child when the worker that forked it dies
    (a SIGKILLed worker would otherwise leave its scoring child running, CPU and
    memory included, until the child's own limits end it)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pipe's EOF still ends the parent's wait
        pass
    if os.getppid() != parent_pid:  # the parent died between fork and prctl
        os._exit(5)


def _child(fn: Callable[..., T], args, kwargs, memory_mb: int, cpu_s: int, w: int,
           parent_pid: int):
    code = 0
    try:
        _die_with_parent(parent_pid)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        torch = sys.modules.get("torch")
        if torch is not None:
            # libgomp's thread pool does not survive a fork: if the parent ever
            # ran a parallel torch op, the child's first one would wait forever
            # for the pool's threads. One thread never touches the pool.
            torch.set_num_threads(1)
        if memory_mb > 0:
            limit = _vm_data_bytes() + memory_mb * MB
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        if cpu_s > 0:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + _CPU_GRACE_S))
        try:
            payload = ("ok", fn(*args, **kwargs))
        except MemoryError:
            payload = ("memory", "")
        except ValidationError as exc:
            payload = ("invalid", str(exc))
        except BaseException:  # noqa: BLE001 - reported to the parent
            payload = ("error", traceback.format_exc())
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", ""))
        except Exception:  # noqa: BLE001 - an unpicklable result is a bug
            data = pickle.dumps(("error", traceback.format_exc()))
        view = memoryview(data)
        while view:
            view = view[os.write(w, view) :]
    except MemoryError:
        code = 3
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 4
    finally:
        os._exit(code)  # no atexit, no Django/Celery clean-up in the child


def run_limited(
    fn: Callable[..., T],
    *args: Any,
    memory_mb: int,
    cpu_s: int,
    wall_s: float = 0,
    **kwargs: Any,
) -> T:
    """``fn(*args, **kwargs)`` in a forked child under the limits; its result.

    A ``ValidationError`` in the child is raised again here with its message;
    crossing a limit raises :class:`ScoringLimitExceeded`; anything else raises
    :class:`ScoringCrashed` with the child's traceback. ``memory_mb`` and
    ``cpu_s`` of 0 (or a platform without ``fork``) run ``fn`` in-process.
    ``wall_s`` > 0 also kills a child that is still running after that many
    seconds (a child blocked on a lock uses no CPU time).
    """
    if (memory_mb <= 0 and cpu_s <= 0) or not hasattr(os, "fork"):
        return fn(*args, **kwargs)
    r, w = os.pipe()
    parent_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit
        os.close(r)
        _child(fn, args, kwargs, memory_mb, cpu_s, w, parent_pid)
    os.close(w)
    chunks: list[bytes] = []
    timed_out = False
    deadline = time.monotonic() + wall_s if wall_s > 0 else None
    try:
        while True:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0)
            ready, _, _ = select.select([r], [], [], wait)
            if not ready:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:
        # The worker itself is being stopped (warm shutdown, a signal): the
        # child must not outlive it.
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(r)
        _, status, usage = os.wait4(pid, 0)
    if timed_out:
        raise ScoringLimitExceeded(
            f"exceeded the scoring time limit of {wall_s:g} s (wall clock)"
        )
    data = b"".join(chunks)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        cpu_used = usage.ru_utime + usage.ru_stime
        if sig == signal.SIGXCPU or (cpu_s > 0 and cpu_used >= cpu_s):
            raise ScoringLimitExceeded(cpu_message(cpu_s))
        if sig == signal.SIGKILL and memory_mb > 0:
            # The kernel's OOM killer (or a cgroup limit) ended it.
            raise ScoringLimitExceeded(memory_message(memory_mb))
        raise ScoringCrashed(
            f"scoring process died with signal {signal.Signals(sig).name} "
            f"(peak RSS {usage.ru_maxrss // 1024} MB)"
        )
    if not data:
        if os.WEXITSTATUS(status) == 3:
            raise ScoringLimitExceeded(memory_message(memory_mb))
        raise ScoringCrashed(
            f"scoring process exited with status {os.WEXITSTATUS(status)} and no result"
        )
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    if kind == "memory":
        raise ScoringLimitExceeded(memory_message(memory_mb))
    if kind == "invalid":
        raise ValidationError(value)
    raise ScoringCrashed(f"scoring process failed:\n{value}")
