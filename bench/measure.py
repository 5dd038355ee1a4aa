"""Time and peak memory of one call, measured in a forked child process.

Why a fork: every measurement starts from the same heap (the parent's inputs are
shared copy-on-write and not counted), the allocator state left by an earlier run
cannot hide or inflate a later one, and memory allocated outside Python
(PIL, torch, pycocotools' C code, OpenBLAS) is counted, which ``tracemalloc``
would miss. Peak memory is the growth of the child's resident set during the
timed call: ``/proc/self/clear_refs`` (write ``5``) resets the kernel's high-water
mark ``VmHWM`` just before the call, and ``VmHWM - VmRSS(before)`` is read after.

The parent never imports torch before forking (a forked libgomp pool can
deadlock); torch is imported inside the children only.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    result: Any
    cpu_seconds: float = 0.0  # CPU time of the child (all its threads) in the call


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:  # not Linux >= 4.0, or not permitted: peak from process start
        return False


def _child(setup: Callable[[], Any], run: Callable[[Any], Any], wfd: int) -> None:
    try:
        state = setup()
        _reset_peak()
        base = _status_kb("VmRSS")
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = run(state)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        peak = max(_status_kb("VmHWM") - base, 0) / 1024
        payload = ("ok", Measured(seconds, peak, result, cpu))
    except BaseException:  # report anything, including the assertion text
        payload = ("error", traceback.format_exc())
    with os.fdopen(wfd, "wb") as w:
        pickle.dump(payload, w)


def measure(
    run: Callable[[Any], Any],
    setup: Callable[[], Any] = lambda: None,
    timeout: float = 900.0,
) -> Measured:
    """Run ``setup()`` (untimed) then ``run(state)`` (timed) in a forked child."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        try:
            _child(setup, run, wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    deadline = time.monotonic() + timeout
    with os.fdopen(rfd, "rb") as r:
        data = r.read()  # returns when the child closes its end
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise TimeoutError("measured call did not finish")
        time.sleep(0.01)
    if not data:
        raise RuntimeError("measured child died without a result (killed for memory?)")
    status, value = pickle.loads(data)
    if status != "ok":
        raise RuntimeError(f"measured call failed:\n{value}")
    return value
