"""The ``earthbench`` argument parser (commands in :mod:`earthbench_client.cli`,
``host`` and ``team`` subcommands in their modules)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from earthbench_client import __version__, host, team
from earthbench_client.uploads import (
    CHUNKED_THRESHOLD,
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
)

SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$", re.IGNORECASE)


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def chunk_size(text: str) -> int:
    """Bytes, with an optional binary suffix: ``4096``, ``512K``, ``16M``, ``16MiB``."""
    match = SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 16M)")
    value = (
        int(match.group(1))
        * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    )
    if not 0 < value <= MAX_CHUNK_SIZE:
        raise argparse.ArgumentTypeError(
            f"must be between 1 byte and 64M (the server's limit), got {text}"
        )
    return value


def _submit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="block until scored/failed")
    p.add_argument(
        "--timeout",
        type=positive,
        default=3600.0,
        metavar="S",
        help="seconds --wait waits (default 3600); exit 3 when it runs out",
    )
    p.add_argument(
        "--fail-under",
        type=float,
        metavar="X",
        help="exit 1 when the score is worse than X (implies --wait; for "
        "lower-is-better metrics 'worse' means above X)",
    )
    p.add_argument("--metric", help="metric for --fail-under (default: the primary)")
    p.add_argument(
        "--split",
        default="public",
        choices=["public", "private"],
        help="split for --fail-under and the printed score (default public)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout"
    )
    p.add_argument(
        "--idempotency-key",
        metavar="K",
        help="reuse-safe key; default in CI: derived from GITHUB_SHA/CI_COMMIT_SHA, "
        "the file's sha256 and the benchmark. '' disables the default",
    )
    p.add_argument("--method-name", default="", help="name shown on the leaderboard")
    p.add_argument("--description", default="")
    p.add_argument("--paper-url", default="")
    p.add_argument("--code-url", default="")
    p.add_argument(
        "--git-commit",
        default=None,
        help="commit hash recorded with the submission (default: the CI commit)",
    )
    p.add_argument(
        "--chunked",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="resumable chunked upload (default: for files of "
        f"{CHUNKED_THRESHOLD >> 20} MiB and more); --no-chunked: one request",
    )
    p.add_argument(
        "--chunk-size",
        type=chunk_size,
        default=DEFAULT_CHUNK_SIZE,
        metavar="SIZE",
        help=f"bytes per chunk, e.g. 8M (default {DEFAULT_CHUNK_SIZE >> 20}M, at most 64M)",
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=None,
        help="server URL (default: $EARTHBENCH_URL or http://127.0.0.1:8000)",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no progress on stderr"
    )

    parser = argparse.ArgumentParser(
        prog="earthbench",
        description="EarthBench client. Configure with EARTHBENCH_URL and EARTHBENCH_TOKEN.",
        epilog="exit codes: 0 ok, 1 below --fail-under, 2 usage/validation error, "
        "3 server/network error",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("benchmarks", parents=[common], help="list benchmarks")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("submit", parents=[common], help="upload a predictions file")
    p.add_argument("benchmark", metavar="BENCH")
    p.add_argument("file", metavar="FILE", type=Path)
    _submit_options(p)

    p = sub.add_parser(
        "push-image",
        parents=[common],
        help="docker save IMAGE and submit it as a container",
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("benchmark", metavar="BENCH")
    _submit_options(p)
    p.add_argument(
        "--tmp-dir", type=Path, default=None, help="where the tarball is written"
    )

    p = sub.add_parser(
        "status", parents=[common], help="show one submission, or list yours"
    )
    p.add_argument("id", metavar="ID", type=int, nargs="?")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--timeout", type=positive, default=3600.0, metavar="S")
    p.add_argument("--benchmark", help="when listing: only this benchmark")
    p.add_argument("--limit", type=int, default=20, help="when listing: how many")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("leaderboard", parents=[common], help="show a leaderboard")
    p.add_argument("benchmark", metavar="BENCH")
    p.add_argument("--split", default="public", choices=["public", "private"])
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    p = sub.add_parser(
        "quota", parents=[common], help="your remaining submissions today"
    )
    p.add_argument("benchmark", metavar="BENCH")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("cancel", parents=[common], help="cancel a queued submission")
    p.add_argument("id", metavar="ID", type=int)
    p.add_argument("--json", action="store_true")
    host.add_parser(sub, common, chunk_size)  # earthbench host ... (host.py)
    team.add_parser(sub, common)
    return parser
