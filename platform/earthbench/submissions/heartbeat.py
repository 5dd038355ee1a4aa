"""Liveness of scoring runs: worker heartbeats, a reaper for lost runs and lost
messages, and a retry for writes that meet SQLite's lock.

- While a task scores, a thread of its worker writes ``Submission.heartbeat_at``
  every ``EARTHBENCH_HEARTBEAT_S`` (only for the attempt it started, so a run
  that was taken over is never refreshed by its old worker).
- ``reaper.reap_lost_runs`` (the reaper task, from beat) requeues a ``running``
  submission whose heartbeat is older than ``EARTHBENCH_HEARTBEAT_TIMEOUT_S``
  (its worker died: SIGKILL, OOM, power), and a ``queued`` one older than
  ``EARTHBENCH_QUEUED_ORPHAN_S`` that has no message waiting in the broker (the
  embedded broker never redelivers a message whose worker died; a publish can be
  lost). Scoring stays exactly-once: ``submission_start`` ignores a message
  for a run that is alive, and a superseded attempt cannot record its result.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, connections
from django.db.models import Q
from django.utils import timezone

from earthbench.submissions.models import Submission

log = logging.getLogger(__name__)


# ------------------------------------------------------------ locked writes


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "is locked" in str(exc)


def retry_locked(fn):
    """Retry ``fn`` (one transaction of its own) when SQLite answers "database is
    locked" after its busy timeout: the worker must not drop a result or leave a
    submission queued because the web process held the lock. Inside an outer
    transaction nothing is retried (the outer one is already broken)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.2
        for attempt in range(1, settings.EARTHBENCH_DB_RETRIES + 1):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if not is_locked(exc) or connection.in_atomic_block or (
                    attempt == settings.EARTHBENCH_DB_RETRIES
                ):
                    raise
                log.warning("%s: database is locked (try %d), retrying", fn.__name__, attempt)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    return wrapper


# ------------------------------------------------------------- heartbeats


class Heartbeat:
    """``with Heartbeat(submission_id):`` around the task body, in the worker."""

    def __init__(self, submission_id: int, interval: float | None = None):
        self.submission_id = submission_id
        self.interval = interval or settings.EARTHBENCH_HEARTBEAT_S
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        # The attempt this worker is about to start (submission_start adds one).
        try:
            current = _attempts_of(self.submission_id)
        except OperationalError:
            log.warning("no heartbeat for submission %s: database unavailable", self.submission_id)
            current = None
        if current is not None:
            self._attempt = current + 1
            self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.submission_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def beat(self) -> int:
        return Submission.objects.filter(
            pk=self.submission_id, status=Submission.Status.RUNNING, attempts=self._attempt
        ).update(heartbeat_at=timezone.now())

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beats += self.beat()
                except Exception:  # a locked or unreachable database: try again next beat
                    log.warning("heartbeat of submission %s failed", self.submission_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections


@retry_locked
def _attempts_of(submission_id: int) -> int | None:
    return Submission.objects.filter(pk=submission_id).values_list("attempts", flat=True).first()


# -------------------------------------------------------- broker contents


def _submission_id(payload: dict) -> int | None:
    try:
        body = payload["body"]
        if payload.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _ = json.loads(body)
        return int(kwargs["submission_id"])
    except Exception:  # another task, or a format we do not know
        return None


def waiting_submission_ids() -> set[int] | None:
    """Submissions with a message waiting (not yet delivered) in the scoring
    queues, or None when this broker cannot be inspected (then the long
    EARTHBENCH_SCORING_TIMEOUT_S rule is the only one for queued submissions)."""
    from earthbench.celery import app

    url = app.conf.broker_url or ""
    queues = ("scoring", "gpu")
    found: set[int] = set()
    try:
        with app.connection_for_read() as conn:
            chan = conn.default_channel
            if url.startswith("sqla+"):
                for q in queues:
                    rows = chan._query_all(q).filter(chan.message_cls.visible == True)  # noqa: E712
                    for msg in rows:
                        found.add(_submission_id(json.loads(msg.payload)))
                chan.session.commit()  # end the read transaction (SQLite)
            elif url.startswith(("redis://", "rediss://")):
                names = [q + p for q in queues for p in ("", "\x06\x163", "\x06\x166", "\x06\x169")]
                for name in names:
                    for raw in chan.client.lrange(name, 0, -1):
                        found.add(_submission_id(json.loads(raw)))
            else:
                return None
    except Exception:
        log.warning("could not inspect the broker's queues", exc_info=True)
        return None
    found.discard(None)
    return found


# ----------------------------------------------------------------- reaper


def _lost_reason(sub: Submission) -> str:
    return (
        f"worker lost: no heartbeat for {settings.EARTHBENCH_HEARTBEAT_TIMEOUT_S} s "
        f"after {sub.attempts} attempts"
    )


def _heartbeat_stale(now: datetime) -> Q:
    cut = now - timedelta(seconds=settings.EARTHBENCH_HEARTBEAT_TIMEOUT_S)
    return Q(heartbeat_at__lt=cut) | Q(heartbeat_at__isnull=True, started_at__lt=cut)


def last_alive(sub: Submission) -> datetime | None:
    """When the run of ``sub`` last showed life: its heartbeat, else its start
    (``submission_start`` sets both; rows from before heartbeats have no beat)."""
    times = [t for t in (sub.heartbeat_at, sub.started_at) if t is not None]
    return max(times) if times else None
