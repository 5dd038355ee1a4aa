"""Real PostgreSQL + Redis + Celery worker processes.

Skipped unless ``EARTHBENCH_INTEGRATION=1``; then DATABASE_URL must point at
Postgres and CELERY_BROKER_URL at Redis (``.ci/services.sh`` starts both), and a
misconfiguration fails loudly instead of silently testing SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from earthbench.celery import app as celery_app
from tests.platform.conftest import (  # noqa: F401  (fixtures, found by name)
    api,
    eurosat,
    half_right_csv,
    perfect_csv,
    truth_rows,
    user,
)

ENABLED = os.environ.get("EARTHBENCH_INTEGRATION") == "1"
HOW = (
    'integration tests need real Postgres and Redis: run `eval "$(bash .ci/services.sh)"`, '
    "then EARTHBENCH_INTEGRATION=1 DATABASE_URL=$EARTHBENCH_PG_URL "
    "CELERY_BROKER_URL=$EARTHBENCH_REDIS_URL pytest tests/integration"
)
requires_services = [
    pytest.mark.integration,
    pytest.mark.skipif(not ENABLED, reason=HOW),
]


@pytest.fixture
def services(transactional_db):
    """Checks the wiring, empties the queues, and makes Celery publish for real."""
    if connection.vendor != "postgresql":
        pytest.fail(
            f"EARTHBENCH_INTEGRATION=1 but the database is {connection.vendor}; {HOW}"
        )
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail(
            f"EARTHBENCH_INTEGRATION=1 but the broker is {settings.CELERY_BROKER_URL}; {HOW}"
        )
    strays = stray_consumers()
    if strays:
        pytest.fail(
            f"another worker consumes this Redis database ({strays}): a stray from an "
            "earlier run would take the test's messages; stop it, or point "
            "CELERY_BROKER_URL at a database of its own (redis://host:6379/N)"
        )
    purge_queues()
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = old


def purge_queues() -> None:
    """Drop messages left by earlier tests (ready and unacknowledged)."""
    r = redis_client()
    for key in ("scoring", "gpu", "unacked", "unacked_index"):
        r.delete(key)


def stray_consumers() -> list[str]:
    """Addresses of clients blocked reading a queue of this Redis database."""
    db = str(redis_client().connection_pool.connection_kwargs.get("db", 0))
    return [
        c["addr"] for c in redis_client().client_list()
        if c.get("cmd") in ("brpop", "blpop") and c.get("db") == db
    ]


def redis_client():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis_client().ping())
    except redis.exceptions.ConnectionError:
        return False


def redis_crash_and_restart(down_s: float = 1.0, during=None) -> None:
    """SIGKILL the Redis server (no clean shutdown), then start it on the same
    port, directory and append-only file. ``during()`` runs while it is down."""
    r = redis_client()
    cfg = {
        k: r.config_get(k)[k] for k in ("dir", "dbfilename", "port", "appendfilename")
    }
    if r.config_get("appendonly")["appendonly"] != "yes":
        r.config_set("appendonly", "yes")  # .ci/services.sh starts it so anyway
    wait_until(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0, 30)
    time.sleep(1.5)  # appendfsync everysec: let the last second reach the disk
    pid = r.info("server")["process_id"]
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not redis_answers(), 10), "redis did not stop"
    try:
        if during is not None:
            during()
        time.sleep(down_s)
    finally:
        _start_redis(cfg)


def _start_redis(cfg: dict) -> None:
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            cfg["port"],
            "--dir",
            cfg["dir"],
            "--dbfilename",
            cfg["dbfilename"],
            "--appendonly",
            "yes",
            "--appendfilename",
            cfg["appendfilename"],
            "--logfile",
            str(Path(cfg["dir"]) / "earthbench-redis.log"),
        ],
        check=True,
    )
    assert wait_until(redis_answers, 30), "redis did not come back"


def wait_until(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
