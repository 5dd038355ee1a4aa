"""Concurrent submits against the embedded default stack (what `make demo` runs).

    python bench/embedded_load.py [--users 10] [--per-user 5] [--slow-put-seconds 5]
        [--max-seconds 300] [--keep]

Loopback only, bounded, stops everything it started:

1. A scratch ``EARTHBENCH_VAR_DIR``: SQLite database, the SQLite broker
   (kombu's SQLAlchemy transport) and storage, as in `make demo`; ``migrate``,
   ``load_catalog --only eurosat-classification-v1`` (a small catalog), and
   ``--users`` users with one API token each. The benchmark's daily quota and
   in-flight limit are set to ``--per-user`` so every submit is accepted.
2. ``manage.py runserver --noreload`` (threaded) on a free port and one Celery
   worker ``--pool=solo --beat`` on queues scoring,gpu, as `make demo` starts them.
3. All ``users × per-user`` multipart ``POST /api/v1/submissions/`` are released at
   once (one thread each, no retries). Meanwhile one more user streams a chunk
   ``PUT`` slowly over ``--slow-put-seconds`` (the issue's "slow PUT holds the
   write lock" case).
   Before the burst, the issue's body attack: an anonymous 3 GiB multipart POST
   with a self-chosen ``csrftoken`` cookie must get 413 with nothing spooled.
4. Waits until every accepted submission is finished, then checks from the
   database: each is ``scored`` exactly once (one ``scored`` event, one
   attempt, two current Score rows, no others) and each user's quota
   (``GET /api/v1/me/quota/``) counts exactly its accepted submissions with
   nothing in flight.

Prints one JSON object; exit status 0 when there were no errors (any status
other than 201, or a transport error) and every check held.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SLUG = "eurosat-classification-v1"
MAX_SUBMITS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "EARTHBENCH_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var),
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


SETUP = """
import json
from earthbench.accounts.services import token_create, user_create
from earthbench.benchmarks.models import Benchmark
Benchmark.objects.filter(slug=%(slug)r).update(daily_quota=%(quota)d, max_in_flight=%(quota)d)
keys = []
for i in range(%(users)d):
    u = user_create(username=f"load{i}", password="load-password-123")
    keys.append(token_create(user=u, name="load")[1])
print(json.dumps(keys))
"""


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the web server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def submit(url: str, key: str, data: bytes, barrier: threading.Barrier, out: list, i: int) -> None:
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Token {key}"}) as client:
        barrier.wait(timeout=60)
        t0 = time.monotonic()
        try:
            resp = client.post(
                "/api/v1/submissions/",
                data={"benchmark": SLUG, "method_name": f"load {i}"},
                files={"file": ("predictions.csv", data, "text/csv")},
            )
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
            out.append({"key": key, "status": resp.status_code, "s": time.monotonic() - t0,
                        "id": body.get("id"), "error": body.get("error"),
                        "retry_after": resp.headers.get("Retry-After")})
        except httpx.HTTPError as exc:
            out.append({"key": key, "status": None, "s": time.monotonic() - t0, "error": repr(exc)})


def slow_put(url: str, key: str, seconds: float, out: dict) -> None:
    """Create an upload and stream its one chunk over ``seconds``."""
    size, pieces = 256 * 1024, 20
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Token {key}"}) as client:
        up = client.post("/api/v1/uploads/", json={"filename": "slow.csv", "size": size}).json()
    conn = http.client.HTTPConnection(url.split("//")[1], timeout=seconds + 60)
    t0 = time.monotonic()
    conn.putrequest("PUT", f"/api/v1/uploads/{up['id']}/")
    for name, value in (("Authorization", f"Token {key}"), ("Upload-Offset", "0"),
                        ("Content-Type", "application/octet-stream"), ("Content-Length", str(size))):
        conn.putheader(name, value)
    conn.endheaders()
    for _ in range(pieces):
        conn.send(b"x" * (size // pieces))
        time.sleep(seconds / pieces)
    conn.send(b"x" * (size - pieces * (size // pieces)))
    resp = conn.getresponse()
    out.update(status=resp.status, s=time.monotonic() - t0, body=resp.read()[:300].decode(errors="replace"))
    conn.close()


def oversize_probe(url: str, temp_dir: Path) -> dict:
    """The issue's attack over a real socket: an anonymous multipart POST that
    declares 3 GiB, with a self-chosen csrftoken cookie, to the web submit form.
    The headers are sent and the answer must be 413 at once; then up to 32 MiB of
    body follow, and the server must have closed the connection rather than drain
    it, with nothing spooled. (Body bytes sent before the answer would sit unread
    when the server closes, and the kernel's reset could then swallow the 413.)"""
    host, port = url.split("//")[1].split(":")
    head = (
        f"POST /benchmarks/{SLUG}/submit/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {3 * 1024**3}\r\nCookie: csrftoken={'a' * 32}\r\n\r\n"
        '--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
    ).encode()
    t0 = time.monotonic()
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(head)
    answer = b""
    while b"\r\n" not in answer:
        try:
            data = sock.recv(4096)
        except OSError:  # reset: whatever arrived before it is the answer
            break
        if not data:
            break
        answer += data
    seconds = time.monotonic() - t0
    status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/") else None
    # Keep sending: a server that drains the declared body takes it all; one
    # that refused it closes the connection.
    sent = 0
    try:
        for _ in range(512):
            sock.sendall(b"a" * 65536)
            sent += 65536
            time.sleep(0.002)
    except OSError:
        pass
    sock.close()
    spooled = sum(p.stat().st_size for p in temp_dir.rglob("*") if p.is_file()) if temp_dir.exists() else 0
    return {"status": status, "s": round(seconds, 3), "temp_dir_bytes": spooled,
            "closed": sent < 512 * 65536, "bytes_sent_after_answer": sent}


def db_checks(db: Path, ids: list[int]) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        marks = ",".join("?" * len(ids)) or "NULL"
        rows = con.execute(
            f"SELECT id, status, attempts FROM eb_submissions_submission WHERE id IN ({marks})", ids
        ).fetchall()
        scored_events = dict(con.execute(
            f"SELECT submission_id, COUNT(*) FROM eb_submissions_submissionevent "
            f"WHERE status='scored' AND submission_id IN ({marks}) GROUP BY submission_id", ids
        ).fetchall())
        scores = dict(con.execute(
            f"SELECT submission_id, COUNT(*) FROM eb_submissions_score "
            f"WHERE submission_id IN ({marks}) GROUP BY submission_id", ids
        ).fetchall())
        timing = con.execute(
            f"SELECT MIN(created_at), MAX(finished_at) FROM eb_submissions_submission WHERE id IN ({marks})", ids
        ).fetchone()
    finally:
        con.close()
    bad = [
        {"id": pk, "status": st, "attempts": at, "scored_events": scored_events.get(pk, 0), "scores": scores.get(pk, 0)}
        for pk, st, at in rows
        if st != "scored" or at != 1 or scored_events.get(pk, 0) != 1 or scores.get(pk, 0) != 2
    ]
    return {"finished": len(rows), "not_exactly_once": bad, "first_created": timing[0], "last_finished": timing[1]}


def finished(db: Path, ids: list[int]) -> bool:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        marks = ",".join("?" * len(ids))
        n = con.execute(
            f"SELECT COUNT(*) FROM eb_submissions_submission WHERE id IN ({marks}) "
            "AND status IN ('scored','failed','cancelled')", ids
        ).fetchone()[0]
    finally:
        con.close()
    return n == len(ids)


def run(users: int, per_user: int, slow_put_seconds: float, max_seconds: float, var: Path) -> dict:
    if users * per_user > MAX_SUBMITS:
        raise SystemExit(f"at most {MAX_SUBMITS} submits")
    env = stack_env(var)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_catalog", "--only", SLUG)
    setup = SETUP % {"slug": SLUG, "quota": per_user, "users": users + 1}
    keys = json.loads(manage(env, "shell", "-c", setup).strip().splitlines()[-1])
    data = (var / "storage" / "benchmarks" / SLUG / "public" / "sample_submission.csv").read_bytes()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    logs = {name: open(var / f"{name}.log", "wb") for name in ("web", "worker")}
    result: dict = {"users": users, "per_user": per_user, "submits": users * per_user}
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=REPO, env=env, stdout=logs["web"], stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "earthbench", "worker", "-Q", "scoring,gpu", "--pool=solo",
             "--beat", "--schedule", str(var / "celerybeat-schedule"), "-l", "warning"],
            cwd=REPO, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT))
        wait_port(port, procs[0])
        result["oversize_anonymous_post"] = probe = oversize_probe(url, var / "storage" / "tmp")
        out: list[dict] = []
        barrier = threading.Barrier(users * per_user + 1)
        threads = [
            threading.Thread(target=submit, args=(url, keys[u], data, barrier, out, u * per_user + j))
            for u in range(users) for j in range(per_user)
        ]
        put: dict = {}
        if slow_put_seconds > 0:
            threads.append(threading.Thread(target=slow_put, args=(url, keys[users], slow_put_seconds, put)))
        for t in threads:
            t.start()
        time.sleep(slow_put_seconds / 4)  # the slow PUT is streaming when the burst starts
        t0 = time.monotonic()
        barrier.wait(timeout=60)
        for t in threads:
            t.join(timeout=max_seconds)
        burst_s = time.monotonic() - t0
        ids = [r["id"] for r in out if r["status"] == 201]
        deadline = time.monotonic() + max_seconds
        while ids and not finished(var / "db.sqlite3", ids) and time.monotonic() < deadline:
            time.sleep(0.5)
        all_done_s = time.monotonic() - t0
        checks = db_checks(var / "db.sqlite3", ids)
        quotas = {}
        for u in range(users):
            q = httpx.get(f"{url}/api/v1/me/quota/", params={"benchmark": SLUG},
                          headers={"Authorization": f"Token {keys[u]}"}, timeout=30).json()
            accepted = sum(1 for r in out if r["key"] == keys[u] and r["status"] == 201)
            quotas[f"load{u}"] = {"used": q["used"], "in_flight": q["in_flight"], "accepted": accepted}
        lat = sorted(r["s"] for r in out)
        statuses = Counter(str(r["status"]) for r in out)
        errors = [r for r in out if r["status"] != 201]
        quota_ok = all(v["used"] == v["accepted"] and v["in_flight"] == 0 for v in quotas.values())
        put_ok = not put or put.get("status") == 200
        result.update(
            statuses=dict(statuses),
            errors=len(errors),
            error_samples=[{"status": e["status"], "error": e["error"]} for e in errors[:5]],
            submit_latency_s={"p50": round(lat[len(lat) // 2], 3), "max": round(lat[-1], 3)} if lat else {},
            burst_wall_s=round(burst_s, 2),
            all_scored_wall_s=round(all_done_s, 2),
            scored=checks["finished"] - len(checks["not_exactly_once"]),
            not_exactly_once=checks["not_exactly_once"][:5],
            quota_consistent=quota_ok,
            slow_put=put,
            ok=not errors and not checks["not_exactly_once"] and checks["finished"] == len(ids)
            and quota_ok and put_ok and probe["status"] == 413 and probe["temp_dir_bytes"] == 0
            and probe["closed"],
        )
        web_log = (var / "web.log").read_text(errors="replace")
        result["server_500s"] = web_log.count('" 500 ')
        result["worker_locked_errors"] = (var / "worker.log").read_text(errors="replace").count("database is locked")
        return result
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        for f in logs.values():
            f.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--per-user", type=int, default=5)
    ap.add_argument("--slow-put-seconds", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=300.0)
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, database)")
    args = ap.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="eb-embedded-load-"))
    try:
        result = run(args.users, args.per_user, args.slow_put_seconds, args.max_seconds, var)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(var, ignore_errors=True)
        else:
            print(f"kept {var}", file=sys.stderr)
    print(json.dumps(result, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
