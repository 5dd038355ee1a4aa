"""``earthbench``: the command-line client (also the CI entry point).

Exit codes: 0 ok; 1 scored but below ``--fail-under``; 2 usage or validation error
(bad arguments, unknown benchmark, bad token, rejected or invalid file); 3 server
or network trouble after retries (also ``--wait`` timing out).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from earthbench_client import __version__, host, team
from earthbench_client.api import FINISHED, Api
from earthbench_client.checks import Check, check_submission, resolve_metric
from earthbench_client.config import Config, load_config
from earthbench_client.docker import docker_save, tarball_name
from earthbench_client.errors import (
    EXIT_BELOW_THRESHOLD,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    EarthbenchError,
    UsageError,
)
from earthbench_client.formatting import (
    dump_json,
    fmt_number,
    leaderboard_csv,
    leaderboard_table,
    render_table,
    score_line,
    score_primary,
)
from earthbench_client.http import Client
from earthbench_client.idempotency import (
    ci_commit,
    default_key,
    file_sha256,
    invocation_key,
)
from earthbench_client.parser import build_parser
from earthbench_client.progress import Progress, human_bytes
from earthbench_client.resume import UploadState, state_path
from earthbench_client.uploads import (
    CHUNKED_THRESHOLD,
    ChunkedOptions,
    ChunkedUnsupported,
    UploadRequest,
    UploadResult,
)

NEEDS_TOKEN = {"submit", "push-image", "status", "quota", "cancel", "host", "team"}
HEX = re.compile(r"^[0-9a-fA-F]{1,64}$")
# Test-only: exit 3 after N chunks, as if the job had been killed (see docs/cli.md).
ABORT_AFTER_CHUNKS = "EARTHBENCH_TEST_ABORT_AFTER_CHUNKS"


@dataclass
class Ctx:
    args: argparse.Namespace
    env: Mapping[str, str]
    config: Config
    api: Api
    out: TextIO
    err: TextIO
    sleep: Callable[[float], None]
    clock: Callable[[], float]

    def info(self, msg: str) -> None:
        """Progress and diagnostics: stderr, so stdout stays machine-readable."""
        if not self.args.quiet:
            self.err.write(f"earthbench: {msg}\n")
            self.err.flush()


# ------------------------------------------------------------------ commands


def cmd_benchmarks(ctx: Ctx) -> int:
    items = ctx.api.benchmarks()
    if ctx.args.json:
        dump_json(items, ctx.out)
        return EXIT_OK
    rows = [
        [
            b.get("slug", ""),
            b.get("task_kind", ""),
            f"{b.get('primary_metric', '')} ({b.get('primary_direction', 'max')})",
            b.get("title", ""),
        ]
        for b in items
    ]
    ctx.out.write(render_table(["slug", "task", "primary", "title"], rows) + "\n")
    return EXIT_OK


def _resolve_key(ctx: Ctx, *, benchmark: str, kind: str, sha: Callable[[], str]) -> str:
    """Explicit key, else the CI-derived one, else a key for this run's retries."""
    explicit = ctx.args.idempotency_key
    if explicit is not None and explicit.strip():
        return explicit.strip()
    if explicit is None:
        key = default_key(env=ctx.env, benchmark=benchmark, sha256=sha(), kind=kind)
        if key is not None:
            ctx.info(
                f"idempotency key {key} (from the CI commit and the file's sha256)"
            )
            return key
    return invocation_key()


def _metadata(ctx: Ctx) -> dict[str, str]:
    a = ctx.args
    commit = a.git_commit
    if commit is None:
        # Only a real hash: the server validates the field as hex.
        commit = ci_commit(ctx.env) or ""
        commit = commit if HEX.match(commit) else ""
    return {
        "method_name": a.method_name,
        "description": a.description,
        "paper_url": a.paper_url,
        "code_url": a.code_url,
        "git_commit": commit,
    }


def _preflight(ctx: Ctx, kind: str) -> dict:
    """Check what can be checked before uploading (possibly gigabytes)."""
    a = ctx.args
    bench = ctx.api.benchmark(a.benchmark)
    members = bench.get("suite_members") or []
    if members:
        raise UsageError(
            f"{a.benchmark} is a suite and takes no submissions; submit to its "
            f"members: {', '.join(members)}"
        )
    if kind == "predictions" and bench.get("accepts_predictions") is False:
        raise UsageError(
            f"{a.benchmark} accepts model containers only (use push-image)"
        )
    if kind == "container" and bench.get("accepts_containers") is False:
        raise UsageError(f"{a.benchmark} does not accept model containers")
    if a.metric is not None and a.fail_under is None:
        raise UsageError("--metric only makes sense with --fail-under")
    if a.fail_under is not None:
        resolve_metric(bench, a.metric)
    return bench


def _exit_code(sub: dict, check: Check | None) -> int:
    status = sub.get("status")
    if status == "failed":
        return EXIT_USAGE
    if status == "cancelled":
        return EXIT_SERVER
    if check is not None and not check.passed:
        return EXIT_BELOW_THRESHOLD
    return EXIT_OK


def _report(
    ctx: Ctx,
    sub: dict,
    *,
    extra: dict[str, Any],
    check: Check | None,
    primary: str | None = None,
) -> int:
    code = _exit_code(sub, check)
    if sub.get("status") == "failed":
        ctx.err.write(
            f"earthbench: error: submission #{sub.get('id')} failed: "
            f"{sub.get('error') or 'no message'}\n"
        )
    elif sub.get("status") == "cancelled":
        ctx.err.write(f"earthbench: error: submission #{sub.get('id')} was cancelled\n")
    if ctx.args.json:
        body = {"submission": sub, **extra}
        body["check"] = check.to_json() if check else None
        body["exit_code"] = code
        dump_json(body, ctx.out)
    else:
        split = getattr(ctx.args, "split", "public")
        ctx.out.write(score_line(sub, split, primary) + "\n")
        if check is not None:
            ctx.out.write(f"fail-under: {check.describe()}\n")
    return code


def _on_status(ctx: Ctx) -> Callable[[dict], None]:
    def show(sub: dict) -> None:
        ctx.info(f"submission #{sub.get('id')}: {sub.get('status')}")

    return show


def _check_file(path: Path) -> int:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise UsageError(f"{path}: the file is empty")
    return size


def run_submission(
    ctx: Ctx,
    path: Path,
    *,
    kind: str,
    bench: dict | None = None,
    sha: str | None = None,
) -> int:
    """Upload ``path``, then optionally wait and apply ``--fail-under``."""
    a = ctx.args
    size = _check_file(path)
    if bench is None:
        bench = _preflight(ctx, kind)

    cached: dict[str, str] = {"sha": sha} if sha else {}

    def get_sha() -> str:
        if "sha" not in cached:
            cached["sha"] = file_sha256(path)
        return cached["sha"]

    key = _resolve_key(ctx, benchmark=a.benchmark, kind=kind, sha=get_sha)
    req = UploadRequest(
        benchmark=a.benchmark,
        path=path,
        kind=kind,
        metadata=_metadata(ctx),
        idempotency_key=key,
    )
    ctx.info(f"uploading {path.name} ({human_bytes(size)}) to {a.benchmark} as {kind}")
    progress = Progress("upload", size, stream=ctx.err, enabled=not a.quiet)
    result = _upload(ctx, req, size=size, sha=get_sha, progress=progress)
    sub = result.submission
    if result.created:
        ctx.info(f"created submission #{sub.get('id')} ({sub.get('status')})")
    else:
        ctx.info(
            f"submission #{sub.get('id')} already exists for this idempotency key; "
            "nothing new was submitted"
        )
    wait = a.wait or a.fail_under is not None
    if wait and sub.get("status") not in FINISHED:
        sub = ctx.api.wait(
            sub["id"],
            timeout=a.timeout,
            on_status=_on_status(ctx),
            sleep=ctx.sleep,
            clock=ctx.clock,
        )
    check = None
    if a.fail_under is not None and sub.get("status") == "scored":
        check = check_submission(
            sub, bench, threshold=a.fail_under, metric=a.metric, split=a.split
        )
    extra = {"created": result.created, "idempotency_key": key}
    return _report(
        ctx, sub, extra=extra, check=check, primary=bench.get("primary_metric")
    )


def _abort_after(env: Mapping[str, str]) -> int | None:
    raw = (env.get(ABORT_AFTER_CHUNKS) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(
            f"{ABORT_AFTER_CHUNKS} must be a positive integer, got {raw!r}"
        )
    return int(raw)


def _upload(
    ctx: Ctx,
    req: UploadRequest,
    *,
    size: int,
    sha: Callable[[], str],
    progress: Progress,
) -> UploadResult:
    """Chunked when asked (or the file is large and it was not refused), else one POST."""
    a = ctx.args
    chunked = a.chunked if a.chunked is not None else size >= CHUNKED_THRESHOLD
    if not chunked:
        return ctx.api.submit(req, progress=progress)
    options = ChunkedOptions(
        chunk_size=a.chunk_size,
        state=UploadState(state_path(ctx.env), log=ctx.info),
        abort_after_chunks=_abort_after(ctx.env),
        # Retry and resume notes show even with -q, like the client's retries.
        log=ctx.api.client.log,
    )
    try:
        return ctx.api.submit_chunked(
            req, sha256=sha(), options=options, progress=progress
        )
    except ChunkedUnsupported as exc:
        if a.chunked:  # asked for explicitly: say so rather than fall back
            raise UsageError(f"{exc}; drop --chunked") from None
        ctx.info(f"{exc}; sending the file in one request")
        progress.reset()
        return ctx.api.submit(req, progress=progress)


def cmd_submit(ctx: Ctx) -> int:
    return run_submission(ctx, ctx.args.file, kind="predictions")


def cmd_push_image(ctx: Ctx) -> int:
    a = ctx.args
    bench = _preflight(ctx, "container")  # fail fast, before a long docker save
    with tempfile.TemporaryDirectory(prefix="earthbench-", dir=a.tmp_dir) as tmp:
        tar = Path(tmp) / tarball_name(a.image)
        ctx.info(f"docker save {a.image} → {tar}")
        progress = Progress("docker save", None, stream=ctx.err, enabled=not a.quiet)
        _, sha = docker_save(a.image, tar, progress=progress)
        return run_submission(ctx, tar, kind="container", bench=bench, sha=sha)


def cmd_status(ctx: Ctx) -> int:
    a = ctx.args
    if a.id is None:
        if a.wait:
            raise UsageError("--wait needs a submission ID")
        subs = ctx.api.submissions(benchmark=a.benchmark, limit=a.limit)
        if a.json:
            dump_json(subs, ctx.out)
            return EXIT_OK
        rows = []
        for s in subs:
            public = next(
                (x for x in s.get("scores") or [] if x.get("split") == "public"), {}
            )
            rows.append(
                [
                    s.get("id"),
                    s.get("benchmark", ""),
                    s.get("status", ""),
                    score_primary(public) if public else "-",
                    public.get("primary_value"),
                    s.get("method_name") or "",
                    s.get("created_at") or "",
                ]
            )
        headers = ["id", "benchmark", "status", "metric", "public", "method", "created"]
        ctx.out.write(render_table(headers, rows) + "\n")
        return EXIT_OK
    sub = ctx.api.submission(a.id)
    if a.wait and sub.get("status") not in FINISHED:
        sub = ctx.api.wait(
            a.id,
            timeout=a.timeout,
            on_status=_on_status(ctx),
            sleep=ctx.sleep,
            clock=ctx.clock,
        )
    return _report(ctx, sub, extra={}, check=None)


def cmd_leaderboard(ctx: Ctx) -> int:
    a = ctx.args
    board = ctx.api.leaderboard(a.benchmark, a.split)
    if a.format == "json":
        dump_json(board, ctx.out)
        return EXIT_OK
    # Columns in the benchmark's declared order (the body carries the declaration;
    # counts such as n_missing are not metrics).
    if a.format == "csv":
        leaderboard_csv(board, ctx.out)
    else:
        ctx.out.write(leaderboard_table(board) + "\n")
    return EXIT_OK


def cmd_quota(ctx: Ctx) -> int:
    q = ctx.api.quota(ctx.args.benchmark)
    if ctx.args.json:
        dump_json(q, ctx.out)
        return EXIT_OK
    ctx.out.write(
        f"{q.get('benchmark')}: {fmt_number(q.get('remaining'))} of "
        f"{fmt_number(q.get('limit'))} submissions left today "
        f"(used {fmt_number(q.get('used'))}); in flight {fmt_number(q.get('in_flight'))}"
        f"/{fmt_number(q.get('max_in_flight'))}; resets at {q.get('resets_at')}\n"
    )
    if q.get("compute_limit_s"):
        ctx.out.write(
            f"container compute: {q.get('compute_remaining_s') or 0:.0f} of "
            f"{q.get('compute_limit_s'):.0f} s left today "
            f"(used {q.get('compute_used_s') or 0:.0f} s)\n"
        )
    return EXIT_OK


def cmd_cancel(ctx: Ctx) -> int:
    sub = ctx.api.cancel(ctx.args.id)
    if ctx.args.json:
        dump_json(sub, ctx.out)
    else:
        ctx.out.write(score_line(sub) + "\n")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Ctx], int]] = {
    "benchmarks": cmd_benchmarks,
    "submit": cmd_submit,
    "push-image": cmd_push_image,
    "status": cmd_status,
    "leaderboard": cmd_leaderboard,
    "quota": cmd_quota,
    "cancel": cmd_cancel,
    "host": host.cmd_host,
    "team": team.cmd_team,
}


# ------------------------------------------------------------------ entry point


def _token(config: Config, command: str, err: TextIO, isatty: bool) -> str | None:
    """The token from the environment; prompt only on an interactive terminal."""
    if config.token or command not in NEEDS_TOKEN:
        return config.token
    if not isatty:
        raise UsageError(
            "EARTHBENCH_TOKEN is not set (create a token on your account page and "
            "export EARTHBENCH_TOKEN=...)"
        )
    token = getpass.getpass("EarthBench API token: ", stream=err).strip()
    if not token:
        raise UsageError("no token given")
    return token


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    stdin_isatty: bool | None = None,
) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    out = out or sys.stdout
    err = err or sys.stderr
    env = os.environ if env is None else env
    args = build_parser().parse_args(argv)
    if stdin_isatty is None:
        stdin_isatty = sys.stdin is not None and sys.stdin.isatty()
    try:
        config = load_config(env, url=args.url)
        token = _token(config, args.command, err, stdin_isatty)

        def warn(msg: str) -> None:
            err.write(f"earthbench: {msg}\n")

        client = Client(
            config.url,
            token,
            retries=config.retries,
            transport=transport,
            sleep=sleep,
            log=warn,
            user_agent=f"earthbench-cli/{__version__}",
        )
        with client:
            ctx = Ctx(args, env, config, Api(client), out, err, sleep, clock)
            return COMMANDS[args.command](ctx)
    except EarthbenchError as exc:
        err.write(f"earthbench: error: {exc}\n")
        if getattr(args, "json", False):
            dump_json({"error": exc.to_json(), "exit_code": exc.exit_code}, out)
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("earthbench: interrupted\n")
        return 130
