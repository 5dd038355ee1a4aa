"""Fixtures for the CLI tests: an in-memory fake API (httpx.MockTransport) and a
real server + worker on loopback for the end-to-end tests."""

from __future__ import annotations

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
            return httpx.Response(201, json=self.created or submission())
        if re.fullmatch(r"/api/v1/submissions/\d+/", path):
            item = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            return httpx.Response(200, json=item)
        return httpx.Response(
            404,
            json={
                "error": {"code": "not_found", "message": "Not found.", "field": None}
            },
        )


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
def run_cli(fake_api: FakeApi) -> Callable[..., CliResult]:
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

        full_env = {"EARTHBENCH_URL": "http://eb.test", "EARTHBENCH_TOKEN": "tok"}
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


@dataclass
class EarthbenchServer:
    url: str
    token: str
    storage: Path
    tmp: Path

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
def eb_server(tmp_path_factory) -> Iterator[EarthbenchServer]:
    """migrate + load one benchmark + demo token, then runserver and a Celery worker."""
    tmp = tmp_path_factory.mktemp("live")
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

    manage("migrate", "-v", "0")
    manage("load_catalog", "--only", BENCH)
    token = manage("demo_user", "--token-only").strip()

    port = _free_port()
    procs: list[subprocess.Popen] = []
    web_log, worker_log = tmp / "web.log", tmp / "worker.log"
    try:
        with open(web_log, "w") as wl, open(worker_log, "w") as kl:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "runserver",
                        "--noreload",
                        f"127.0.0.1:{port}",
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=wl,
                    stderr=subprocess.STDOUT,
                )
            )
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
        _wait_for_port(port, procs[0], web_log)
        yield EarthbenchServer(
            url=f"http://127.0.0.1:{port}",
            token=token,
            storage=tmp / "storage",
            tmp=tmp,
        )
    finally:
        for proc in procs:
            _stop(proc)
