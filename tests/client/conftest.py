"""Fixtures for the CLI tests: an in-memory fake API (httpx.MockTransport) and a
real server + worker on loopback for the end-to-end tests."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from earthbench_client.cli import main
from tests.conftest import copy_migrated_db

REPO = Path(__file__).resolve().parents[2]
BENCH = "eurosat-classification-v1"

BENCHMARK = {
    "slug": BENCH,
    "title": "EuroSAT",
    "task_kind": "classification",
    "metrics": [
        {"key": "oa", "direction": "max"},
        {"key": "macro_f1", "direction": "max"},
        {"key": "rmse", "direction": "min"},
    ],
    "primary_metric": "oa",
    "primary_direction": "max",
    "accepts_predictions": True,
    "accepts_containers": True,
}


def submission(sid: int = 7, status: str = "queued", **kw: Any) -> dict:
    sub = {
        "id": sid,
        "benchmark": BENCH,
        "team": "t",
        "kind": "predictions",
        "status": status,
        "error": "",
        "file_sha256": "0" * 64,
        "scores": [],
    }
    sub.update(kw)
    return sub


def scored(sid: int = 7, *, oa: float = 0.9, rmse: float = 2.0, **kw: Any) -> dict:
    metrics = {"oa": oa, "macro_f1": oa, "rmse": rmse, "primary": "oa", "per_class": {}}
    scores = [
        {
            "split": "public",
            "metrics": metrics,
            "primary_value": oa,
            "ci": {"oa": [oa - 0.05, oa + 0.05]},
            "evaluator_version": "x",
        },
    ]
    return submission(sid, "scored", scores=scores, **kw)


@dataclass
class FakeUpload:
    """One resumable upload as the server keeps it."""

    id: str
    filename: str
    size: int
    data: bytearray = field(default_factory=bytearray)
    status: str = "open"
    sha256: str = ""

    def json(self) -> dict:
        return {
            "id": self.id,
            "filename": self.filename,
            "size": self.size,
            "offset": len(self.data),
            "sha256": self.sha256,
            "status": self.status,
        }


@dataclass
class Drop:
    """A PUT fault: the server keeps the first ``keep`` bytes (None: all), then the
    connection breaks (``exc``) or the answer is ``status`` (e.g. 503, or 409 as if
    the chunk had already arrived from an attempt the client thought lost)."""

    keep: int | None = 0
    exc: Exception | None = None
    status: int | None = None


def _error(status: int, message: str, code: str = "invalid") -> httpx.Response:
    body = {"error": {"code": code, "message": message, "field": None}}
    return httpx.Response(status, json=body)


@dataclass
class FakeApi:
    """Routes requests like the real API; scripted responses come first."""

    benchmark: dict = field(default_factory=lambda: dict(BENCHMARK))
    # Statuses GET /submissions/{id}/ returns in turn (the last one repeats).
    polls: list[dict] = field(default_factory=lambda: [scored()])
    # (method, path regex) -> list of httpx.Response or Exception to serve first.
    script: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    created: dict | None = None
    leaderboard: dict | None = None
    # Chunked uploads by id; PUT faults by the PUT's number (1-based, all uploads).
    uploads: dict[str, FakeUpload] = field(default_factory=dict)
    put_faults: dict[int, Drop] = field(default_factory=dict)
    puts: int = 0
    upload_seq: int = 0

    def add(self, method: str, pattern: str, *responses: Any) -> None:
        self.script.setdefault((method, pattern), []).extend(responses)

    def calls(self, method: str, pattern: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method and re.fullmatch(pattern, r.url.path)
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        path = request.url.path
        for (method, pattern), queue in self.script.items():
            if request.method == method and re.fullmatch(pattern, path) and queue:
                item = queue.pop(0)
                if isinstance(item, Exception):
                    raise item
                return item
        return self.default(request, path)

    def default(self, request: httpx.Request, path: str) -> httpx.Response:
        if path.startswith("/api/v1/uploads/"):
            return self.upload_route(request, path)
        if path == f"/api/v1/benchmarks/{self.benchmark['slug']}/":
            return httpx.Response(200, json=self.benchmark)
        if path == "/api/v1/benchmarks/":
            return httpx.Response(
                200,
                json={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [self.benchmark],
                },
            )
        if path.endswith("/leaderboard/") and self.leaderboard is not None:
            return httpx.Response(200, json=self.leaderboard)
        if path == "/api/v1/submissions/" and request.method == "POST":
            return self.create_submission(request)
        if re.fullmatch(r"/api/v1/submissions/\d+/", path):
            item = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            return httpx.Response(200, json=item)
        return httpx.Response(
            404,
            json={
                "error": {"code": "not_found", "message": "Not found.", "field": None}
            },
        )

    # -------------------------------------------------------------- uploads

    def upload_route(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/api/v1/uploads/" and request.method == "POST":
            body = json.loads(request.content)
            self.upload_seq += 1
            uid = f"00000000-0000-4000-8000-{self.upload_seq:012d}"
            up = FakeUpload(uid, body["filename"], int(body["size"]))
            self.uploads[uid] = up
            return httpx.Response(201, json=up.json())
        m = re.fullmatch(r"/api/v1/uploads/([^/]+)/(complete/)?", path)
        up = self.uploads.get(m.group(1)) if m else None
        if up is None:
            return _error(404, "no such upload", "not_found")
        if m.group(2) and request.method == "POST":
            return self.complete(up, json.loads(request.content)["sha256"])
        if request.method == "GET":
            return httpx.Response(200, json=up.json())
        if request.method == "PUT":
            return self.put(up, request)
        return _error(405, "method not allowed", "method_not_allowed")

    def put(self, up: FakeUpload, request: httpx.Request) -> httpx.Response:
        self.puts += 1
        chunk = request.content
        offset = int(request.headers["Upload-Offset"])
        if up.status != "open":
            return _error(400, f"upload is {up.status}; no more chunks accepted")
        fault = self.put_faults.get(self.puts)
        if offset != len(up.data):
            return _error(
                409,
                f"chunk offset {offset} does not match the {len(up.data)} bytes "
                f"received; resume from {len(up.data)}",
                "offset_mismatch",
            )
        if fault is not None:
            up.data += chunk if fault.keep is None else chunk[: fault.keep]
            if fault.exc is not None:
                raise fault.exc
            if fault.status == 409:
                return _error(409, f"resume from {len(up.data)}", "offset_mismatch")
            return _error(fault.status or 503, "try again", "unavailable")
        if len(up.data) + len(chunk) > up.size:
            return _error(400, "chunk too large")
        up.data += chunk
        return httpx.Response(200, json=up.json())

    def complete(self, up: FakeUpload, sha256: str) -> httpx.Response:
        if len(up.data) != up.size:
            return _error(
                409,
                f"only {len(up.data)} of {up.size} bytes received",
                "offset_mismatch",
            )
        digest = hashlib.sha256(up.data).hexdigest()
        if digest != sha256.lower():
            return _error(400, f"sha256 mismatch: received bytes hash to {digest}")
        if up.status == "open":
            up.status, up.sha256 = "complete", digest
        return httpx.Response(200, json=up.json())

    def create_submission(self, request: httpx.Request) -> httpx.Response:
        m = re.search(rb'name="upload"\r\n\r\n([^\r]+)\r\n', request.content)
        if m is None:
            return httpx.Response(201, json=self.created or submission())
        up = self.uploads.get(m.group(1).decode())
        if up is None:
            return _error(400, "no such upload")
        if up.status != "complete":
            return _error(400, f"upload is {up.status}")
        up.status = "consumed"
        sub = self.created or submission(file_sha256=up.sha256)
        return httpx.Response(201, json=sub)


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    sleeps: list[float]

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """XDG_CACHE_HOME for the CLI runs of one test (the chunked-upload state)."""
    return tmp_path / "cache"


@pytest.fixture
def run_cli(fake_api: FakeApi, cache_dir: Path) -> Callable[..., CliResult]:
    """Run ``earthbench ARGS`` in-process against ``fake_api``; sleeps are recorded."""

    def run(
        *argv: str, env: dict[str, str] | None = None, isatty: bool = False
    ) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        sleeps: list[float] = []
        clock = [0.0]

        def sleep(s: float) -> None:
            sleeps.append(s)
            clock[0] += s

        full_env = {
            "EARTHBENCH_URL": "http://eb.test",
            "EARTHBENCH_TOKEN": "tok",
            "XDG_CACHE_HOME": str(cache_dir),
        }
        full_env.update(env or {})
        code = main(
            list(argv),
            env=full_env,
            transport=httpx.MockTransport(fake_api),
            out=out,
            err=err,
            sleep=sleep,
            clock=lambda: clock[0],
            stdin_isatty=isatty,
        )
        return CliResult(code, out.getvalue(), err.getvalue(), sleeps)

    return run


# ------------------------------------------------------------------ live server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(
    port: int, proc: subprocess.Popen, log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _start_web(procs: list[subprocess.Popen], env: dict, log: Path, token: str) -> int:
    """``runserver`` on a free port; the port. A port found free can be taken by
    another worker's server before ours binds it, and then ours exits while the
    port answers: the server is only accepted once this stack's own token is
    accepted on it (another stack's database does not know it)."""
    for _attempt in range(5):
        port = _free_port()
        with open(log, "w") as wl:
            proc = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=REPO, env=env, stdout=wl, stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        try:
            _wait_for_port(port, proc, log)
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/me/teams/",
                          headers={"Authorization": f"Token {token}"}, timeout=30)
            if r.status_code == 200 and proc.poll() is None:
                return port
        except (RuntimeError, httpx.HTTPError):
            pass
        _stop(proc)
        procs.remove(proc)
    raise RuntimeError(f"no runserver of this stack answered after 5 ports:\n{log.read_text()[-3000:]}")


@dataclass
class EarthbenchServer:
    url: str
    token: str
    storage: Path
    tmp: Path
    manage: Callable[..., str] | None = None

    def token_for(self, username: str) -> str:
        """A token of another (new or existing) user on this server."""
        assert self.manage is not None
        return self.manage("demo_user", "--username", username, "--token-only").strip()

    def cli(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """The installed CLI as a subprocess, configured by environment only."""
        full_env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in ("GITHUB_SHA", "CI_COMMIT_SHA", "EARTHBENCH_TOKEN", "EARTHBENCH_URL")
        }
        full_env.update(
            {
                "EARTHBENCH_URL": self.url,
                "EARTHBENCH_TOKEN": self.token,
                "PYTHONPATH": str(REPO / "client"),
                # Keep chunked-upload state out of the real ~/.cache.
                "XDG_CACHE_HOME": str(self.tmp / "cache"),
            }
        )
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "earthbench_client", *argv],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture(scope="module")
def eb_server(tmp_path_factory, migrated_sqlite) -> Iterator[EarthbenchServer]:
    """A migrated database + one benchmark loaded + demo token, then runserver and a
    Celery worker."""
    with live_server(tmp_path_factory.mktemp("live"), [BENCH], migrated_sqlite) as server:
        yield server


@contextlib.contextmanager
def live_server(tmp: Path, slugs: list[str], migrated: Path) -> Iterator[EarthbenchServer]:
    """A real server and worker on loopback with ``slugs`` loaded (demo data and
    baselines scored), on a copy of the ``migrated_sqlite`` database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "earthbench.settings.dev",
        "EARTHBENCH_VAR_DIR": str(tmp / "var"),
        "EARTHBENCH_STORAGE_DIR": str(tmp / "storage"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.sqlite3'}",
        "PYTHONPATH": f"{REPO}:{REPO / 'platform'}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    env.pop("EARTHBENCH_TOKEN", None)

    def manage(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
            )
        return proc.stdout

    copy_migrated_db(migrated, tmp / "db.sqlite3")
    manage("load_catalog", "--only", *slugs)
    token = manage("demo_user", "--token-only").strip()

    procs: list[subprocess.Popen] = []
    web_log, worker_log = tmp / "web.log", tmp / "worker.log"
    try:
        with open(worker_log, "w") as kl:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "earthbench",
                        "worker",
                        "-Q",
                        "scoring,gpu",
                        "--pool=solo",
                        "--loglevel=INFO",
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=kl,
                    stderr=subprocess.STDOUT,
                )
            )
        port = _start_web(procs, env, web_log, token)
        yield EarthbenchServer(
            url=f"http://127.0.0.1:{port}",
            token=token,
            storage=tmp / "storage",
            tmp=tmp,
            manage=manage,
        )
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture
def preds(tmp_path):
    """A small predictions file for the CLI tests."""
    p = tmp_path / "preds.csv"
    p.write_text("id,label\ntest_00000,Forest\n")
    return p
