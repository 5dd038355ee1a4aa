"""The embedded broker wakes on a commit instead of sleeping out its poll interval."""

import threading
import time

import pytest
from kombu import Connection, Exchange, Queue

import earthbench.celery  # noqa: F401  (registers the transport for "sqla")
from earthbench import broker


def _connection(url, **opts):
    return Connection(url, transport_options={"connect_args": {"timeout": 30}, **opts})


def test_sqla_prefix_resolves_to_the_waking_transport(tmp_path):
    with _connection(f"sqla+sqlite:///{tmp_path / 'b.sqlite3'}") as conn:
        assert conn.transport_cls == "sqla"
        assert isinstance(conn.transport, broker.Transport)


def test_sqlite_path():
    assert broker.sqlite_path("sqlite:////var/x/broker.sqlite3") == "/var/x/broker.sqlite3"
    assert broker.sqlite_path("sqlite:///rel.db?timeout=3") == "rel.db"
    assert broker.sqlite_path("sqlite:///:memory:") is None
    assert broker.sqlite_path("postgresql://u@h/db") is None


def test_change_watch_sees_another_connections_commit(tmp_path):
    import sqlite3

    path = tmp_path / "w.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("create table t (x)")
    watch = broker.ChangeWatch(str(path))
    v0 = watch.version()
    assert v0 is not None and watch.version() == v0
    writer.execute("insert into t values (1)")
    assert watch.version() != v0
    watch.close()
    assert broker.ChangeWatch(str(tmp_path / "missing.sqlite3")).version() is None


def test_a_message_is_taken_within_the_wakeup_not_the_poll_interval(tmp_path):
    """With a 5 s polling interval, kombu's plain transport takes a message
    published while it sleeps after up to 5 s; this one within ~20 ms of the
    commit. Own options never reach create_engine (it rejects unknown ones)."""
    poll = 5.0
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    queue = Queue("scoring", Exchange("scoring", type="direct"), routing_key="scoring")
    got: list[float] = []

    with _connection(url, polling_interval=poll, wakeup_check_s=0.02) as consumer_conn:
        with consumer_conn.Consumer(queue, callbacks=[lambda body, msg: (got.append(time.monotonic()), msg.ack())]):
            # The first poll finds nothing; the consumer is waiting when we publish.
            def publish():
                time.sleep(0.3)
                with _connection(url) as pub:
                    pub.Producer().publish({"n": 1}, exchange=queue.exchange, routing_key="scoring", declare=[queue])
                sent.append(time.monotonic())

            sent: list[float] = []
            t = threading.Thread(target=publish)
            t.start()
            start = time.monotonic()
            consumer_conn.drain_events(timeout=poll * 2)
            t.join()
    assert got and sent
    assert got[0] - start < poll / 2, "the consumer slept out its polling interval"
    assert got[0] - sent[0] < 0.5


def test_idle_drain_respects_the_caller_timeout(tmp_path):
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    queue = Queue("scoring", Exchange("scoring", type="direct"), routing_key="scoring")
    with _connection(url, polling_interval=1.0) as conn, conn.Consumer(queue, callbacks=[]):
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            conn.drain_events(timeout=0.3)
        assert 0.25 < time.monotonic() - start < 1.0


def test_a_queue_created_by_another_process_meanwhile_is_read_not_a_crash(tmp_path):
    """kombu's guard against creating a queue row twice is a thread lock; the web
    process and a worker are separate processes. Simulate the other process
    committing the row between this one's lookup and its insert."""
    import sqlite3

    path = tmp_path / "b.sqlite3"
    with _connection(f"sqla+sqlite:///{path}") as conn:
        chan = conn.default_channel
        chan._get_or_create("first")  # creates the tables
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("insert into kombu_queue (name) values ('scoring')")
        other.close()

        real_query, misses = chan.session.query, []

        class Miss:  # what both of kombu's look-ups saw before the other commit
            def filter(self, *args):
                return self

            def first(self):
                return None

        def query(cls, *args):
            if cls is chan.queue_cls and len(misses) < 2:
                misses.append(cls)
                return Miss()
            return real_query(cls, *args)

        chan.session.query = query
        row = chan._get_or_create("scoring")
        assert len(misses) == 2 and row.name == "scoring"
        chan._put("scoring", {"body": "x"})  # the session is usable afterwards
        assert chan._size("scoring") == 1
