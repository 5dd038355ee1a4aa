"""The embedded default (SQLite) under contention (issue 18): WAL, immediate
transactions, no transaction while a body streams, 503 instead of 500, and a
worker that retries a locked write. Real locks, taken by a second connection."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test.client import ClientHandler, RequestFactory

from earthbench.accounts.models import Team
from earthbench.submissions import attempt, intake, uploads
from earthbench.submissions.models import Submission
from tests.platform.conftest import upload

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite locking (the embedded default)"
)


def db_path() -> str:
    return connection.settings_dict["NAME"]


@contextmanager
def write_lock_held(release_after: float | None = None):
    """Another process's write transaction on the database file."""
    raw = sqlite3.connect(db_path(), isolation_level=None, check_same_thread=False)
    raw.execute("BEGIN IMMEDIATE")
    timer = None
    if release_after is not None:
        timer = threading.Timer(release_after, lambda: raw.execute("ROLLBACK"))
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        else:
            raw.execute("ROLLBACK")
        raw.close()


@contextmanager
def busy_timeout(seconds: float):
    """This process's connections wait only ``seconds`` for the write lock."""
    opts = connection.settings_dict["OPTIONS"]
    old = opts.get("timeout")
    opts["timeout"] = seconds
    connection.close()
    try:
        yield
    finally:
        opts["timeout"] = old
        connection.close()


def other_writer_can_write() -> bool:
    raw = sqlite3.connect(db_path(), timeout=1.0, isolation_level=None)
    try:
        raw.execute("UPDATE accounts_team SET name = name")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        raw.close()


def test_sqlite_is_wal_with_immediate_transactions(transactional_db):
    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        assert cur.fetchone()[0] == "wal"
    assert connection.transaction_mode == "IMMEDIATE"
    assert connection.settings_dict["OPTIONS"]["timeout"] >= 5


def test_transactions_that_read_then_write_do_not_fail_each_other(user, eurosat):
    """Deferred transactions fail at once with "database is locked" here: the
    first cannot upgrade its read to a write after the second one wrote."""
    from earthbench.accounts.teams import team_for

    team = team_for(user=user, benchmark=eurosat)
    errors: list[BaseException] = []

    def slow():
        try:
            with transaction.atomic():
                name = Team.objects.get(pk=team.pk).name
                time.sleep(0.6)
                Team.objects.filter(pk=team.pk).update(name=name + "-a")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    def quick():
        try:
            time.sleep(0.2)
            with transaction.atomic():
                name = Team.objects.get(pk=team.pk).name
                Team.objects.filter(pk=team.pk).update(name=name + "-b")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert Team.objects.get(pk=team.pk).name.endswith(("-a-b", "-b-a"))


def test_locked_database_is_503_with_retry_after_on_the_api(api, eurosat, perfect_csv):
    with busy_timeout(0.3), write_lock_held():
        resp = api.post(
            "/api/v1/submissions/",
            {"benchmark": eurosat.slug, "file": upload(perfect_csv)},
            format="multipart",
        )
    assert resp.status_code == 503, resp.content[:300]
    assert int(resp["Retry-After"]) > 0
    assert resp.json()["error"]["code"] == "busy"
    assert not Submission.objects.exists()


def test_locked_database_is_503_on_the_website(client, user, eurosat, perfect_csv):
    client.force_login(user)
    with busy_timeout(0.3), write_lock_held():
        resp = client.post(
            f"/benchmarks/{eurosat.slug}/submit/",
            {"file": upload(perfect_csv), "kind": "predictions"},
        )
    assert resp.status_code == 503, resp.content[:300]
    assert resp["Retry-After"]
    assert not Submission.objects.exists()


class SlowBody(io.RawIOBase):
    """A body that arrives in pieces; halfway through, another connection tries
    to write (as another user's submit would)."""

    def __init__(self, size: int, probe):
        self.size, self.sent, self.probe, self.probed = size, 0, probe, None

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.probed is None and self.sent >= self.size // 2:
            self.probed = self.probe()
        n = min(64 * 1024 if n is None or n < 0 else n, 64 * 1024, self.size - self.sent)
        self.sent += n
        return b"x" * n


def test_chunk_put_holds_no_write_lock_while_the_body_streams(api, user):
    up = uploads.upload_create(user=user, filename="big.bin", size=1024**2)
    body = SlowBody(1024**2, other_writer_can_write)
    env = RequestFactory()._base_environ(
        REQUEST_METHOD="PUT", PATH_INFO=f"/api/v1/uploads/{up.uuid}/",
        CONTENT_TYPE="application/octet-stream", CONTENT_LENGTH=str(1024**2),
        HTTP_AUTHORIZATION=f"Token {api.key}", HTTP_UPLOAD_OFFSET="0",
    )
    env["wsgi.input"] = body
    resp = ClientHandler()(env)
    assert resp.status_code == 200, resp.content[:300]
    assert body.probed is True
    up.refresh_from_db()
    assert up.offset == 1024**2


def test_multipart_submit_holds_no_write_lock_while_the_body_streams(api, eurosat, perfect_csv):
    boundary = "bNdRy"
    parts = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"benchmark\"\r\n\r\n{eurosat.slug}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + perfect_csv + f"\r\n--{boundary}--\r\n".encode()

    class Body(io.BytesIO):
        probed = None

        def read(self, n=-1):
            if self.probed is None and self.tell() > 0:
                self.probed = other_writer_can_write()
            return super().read(min(n, 256) if n and n > 0 else 256)

    body = Body(parts)
    env = RequestFactory()._base_environ(
        REQUEST_METHOD="POST", PATH_INFO="/api/v1/submissions/",
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}", CONTENT_LENGTH=str(len(parts)),
        HTTP_AUTHORIZATION=f"Token {api.key}",
    )
    env["wsgi.input"] = body
    resp = ClientHandler()(env)
    assert resp.status_code == 201, resp.content[:300]
    assert body.probed is True


def test_worker_retries_a_locked_write(user, eurosat, perfect_csv):
    """The web process holds the lock longer than the worker's busy timeout: the
    worker waits and retries instead of raising (the submission stayed queued)."""
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv", enqueue=False
    )
    with busy_timeout(0.2), write_lock_held(release_after=1.5):
        done = attempt.score_file_submission(submission_id=sub.pk)
    assert done is not None and done.status == "scored"
    assert done.attempts == 1
