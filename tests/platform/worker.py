"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    d = connection.settings_dict
    if d["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{d['NAME']}"
    return f"postgres://{d['USER']}:{d['PASSWORD']}@{d['HOST'] or 'localhost'}:{d['PORT'] or 5432}/{d['NAME']}"


def worker_env(**extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EARTHBENCH_STORAGE_DIR=str(settings.EARTHBENCH_STORAGE_DIR),
        CELERY_TASK_ALWAYS_EAGER="0",
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "platform")]),
        **{k: str(v) for k, v in extra.items()},
    )
    return env


# Linux: the worker is SIGKILLed when pytest dies (a timeout, Ctrl-C twice)
# instead of living on as a stray that consumes the next run's queue. Set in
# the new process before it execs Celery (PR_SET_PDEATHSIG survives exec), not
# in a preexec_fn, which may deadlock in a forked child of a threaded pytest.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or os._exit(1); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


@contextmanager
def celery_worker(log_path: Path, *args: str, **extra):
    """A worker process; ``args`` are extra command-line options (e.g. ``--beat``)."""
    cmd = [
        sys.executable, "-m", "celery", "-A", "earthbench", "worker",
        "-Q", "scoring,gpu", "--pool=solo", "--without-gossip", "--without-mingle",
        "-l", "info", *args,
    ]
    if sys.platform == "linux":
        cmd = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *cmd]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=worker_env(**extra), stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
