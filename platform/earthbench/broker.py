"""The embedded broker: kombu's SQLAlchemy transport with a wake-up on commit.

kombu's virtual transports poll: after an empty poll of every queue the worker
sleeps ``polling_interval`` (1 s) before looking again, so a submission waited up
to a second in the queue table before scoring started (bench/platform_latency.py).
Polling the table faster costs a write transaction per queue per poll
(``BEGIN IMMEDIATE`` + ``SELECT … FOR UPDATE`` + commit through the ORM).

This transport keeps the table and the message format (a worker of either kind can
read what the other published), and waits between polls on SQLite's own change
counter instead: ``PRAGMA data_version`` on a separate read-only connection to the
broker file changes when any other connection commits to it (SQLite documents it
for this purpose). The worker reads it every ``wakeup_check_s`` (20 ms): a
microsecond-scale read that takes no write lock. A change starts a poll at once;
without one, the tables are polled again after ``polling_interval`` anyway, as
before (a safety net: a poll costs what it always did).

Used for ``sqla+sqlite`` URLs (``earthbench.celery`` registers it for the
``sqla`` prefix); other SQLAlchemy databases keep kombu's plain polling.
Transport options: ``polling_interval`` (default 1.0 s) and ``wakeup_check_s``
(default 0.02 s); neither reaches ``create_engine``.
"""

from __future__ import annotations

import sqlite3
from queue import Empty
from time import monotonic, sleep

from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy.exc import IntegrityError

OWN_OPTIONS = ("polling_interval", "wakeup_check_s")


class Channel(kombu_sqla.Channel):
    def _get_or_create(self, queue):
        """kombu guards the queue row's creation with a thread lock only: the web
        process and a worker declaring the same new queue at once made one of them
        fail with ``UNIQUE constraint failed: kombu_queue.name`` (a 500 on submit).
        The loser of that race reads the row the winner committed."""
        try:
            return super()._get_or_create(queue)
        except IntegrityError:
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()

    def _engine_from_config(self):
        client = self.connection.client
        saved = client.transport_options
        client.transport_options = {k: v for k, v in saved.items() if k not in OWN_OPTIONS}
        try:
            return super()._engine_from_config()
        finally:
            client.transport_options = saved


class ChangeWatch:
    """``PRAGMA data_version`` of one SQLite file, read on a private connection."""

    def __init__(self, path: str):
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def version(self) -> int | None:
        """The file's change counter as this connection sees it, None when it
        cannot be read (then the caller falls back to plain polling)."""
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                    timeout=0.05, check_same_thread=False,
                )
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None


def sqlite_path(hostname: str) -> str | None:
    """The file of a ``sqlite:///path`` SQLAlchemy URL, None for anything else
    (other databases, ``:memory:``)."""
    prefix = "sqlite:///"
    if not hostname or not hostname.startswith(prefix):
        return None
    path = hostname[len(prefix):].split("?", 1)[0]
    return path if path and path != ":memory:" else None


class Transport(kombu_sqla.Transport):
    Channel = Channel
    wakeup_check_s = 0.02

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        opts = client.transport_options
        if opts.get("wakeup_check_s") is not None:
            self.wakeup_check_s = float(opts["wakeup_check_s"])
        path = sqlite_path(client.hostname or "")
        self._watch = ChangeWatch(path) if path else None

    def drain_events(self, connection, timeout=None):
        if self._watch is None:
            return super().drain_events(connection, timeout=timeout)
        start = monotonic()
        get = self.cycle.get
        while True:
            # Read the counter before polling: a commit after this read but
            # before the poll's own read is seen as a change, never missed.
            seen = self._watch.version()
            try:
                get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            if timeout is not None and monotonic() - start >= timeout:
                raise TimeoutError()  # socket.timeout, which the worker loop expects
            self._wait_for_change(seen, start, timeout)

    def _wait_for_change(self, seen, start, timeout) -> None:
        """Sleep until another connection commits to the broker file, the
        polling interval passes, or the caller's timeout is reached."""
        step = self.wakeup_check_s
        until = monotonic() + (self.polling_interval or 0)
        if timeout is not None:
            until = min(until, start + timeout)
        while True:
            now = monotonic()
            if now >= until:
                return
            sleep(min(step, until - now))
            if seen is None:
                continue  # no counter: plain polling
            if self._watch.version() != seen:
                return

    def close_connection(self, connection):
        if self._watch is not None:
            self._watch.close()
        return super().close_connection(connection)
