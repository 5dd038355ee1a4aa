"""A leaderboard as the API and the website serve it: the requested split, paging,
sorting, a suite's rows, the JSON body and its ETag. The rules (ranking,
visibility) are in ``selectors`` and ``suites``; this module composes them once
for both front ends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.exports import rank_uncertainty_fields, rows_as_dicts
from earthbench.leaderboards.selectors import (
    SPLITS,
    Row,
    leaderboard_count,
    leaderboard_rows,
    split_visible,
)
from earthbench.leaderboards.suites import SuiteRow, suite_hidden_members, suite_rows

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BoardRequestError(ValueError):
    """A leaderboard request that names an unknown split, metric or page."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class SplitHidden(PermissionError):
    """The viewer may not see this split yet (the private one before the deadline)."""

    def __init__(self):
        super().__init__("the private leaderboard is revealed at the deadline")


def board_split(*, benchmark: Benchmark, requested: str | None, user, strict: bool = True) -> str:
    """The split to show. ``strict`` (the API): an unknown split is a
    ``BoardRequestError`` and a hidden one ``SplitHidden``; otherwise (the page)
    both fall back to the public split."""
    split = requested or "public"
    if split not in SPLITS:
        if strict:
            raise BoardRequestError("split", "split must be public or private")
        return "public"
    if not split_visible(benchmark=benchmark, split=split, user=user):
        if strict:
            raise SplitHidden()
        return "public"
    return split


def page_bounds(params) -> tuple[int, int]:
    """``offset`` (≥ 0) and ``limit`` (1 to ``MAX_LIMIT``) from a query dict."""
    try:
        offset = max(0, int(params.get("offset", 0)))
        limit = min(MAX_LIMIT, max(1, int(params.get("limit", DEFAULT_LIMIT))))
    except (TypeError, ValueError):
        raise BoardRequestError("limit", "limit and offset must be integers") from None
    return offset, limit


@dataclass
class Board:
    benchmark: Benchmark
    split: str
    rows: list[Row]
    sort: str | None
    offset: int = 0


def board(
    *, benchmark: Benchmark, split: str, sort: str | None = None, offset: int = 0,
    limit: int | None = None, strict: bool = True,
) -> Board:
    """The ranked rows of one page (``limit`` None: all). An unknown ``sort`` metric
    is a ``BoardRequestError`` when ``strict``, else the primary order."""
    sort = sort or None
    try:
        rows = leaderboard_rows(benchmark=benchmark, split=split, sort=sort, offset=offset, limit=limit)
    except ValueError as exc:
        if strict:
            raise BoardRequestError("sort", str(exc)) from None
        sort = None
        rows = leaderboard_rows(benchmark=benchmark, split=split, offset=offset, limit=limit)
    return Board(benchmark=benchmark, split=split, rows=rows, sort=sort, offset=offset)


def board_body(b: Board) -> dict:
    """The API's JSON leaderboard (``count`` counts every entry of the split)."""
    bench = b.benchmark
    return {
        "benchmark": bench.slug,
        "split": b.split,
        "primary_metric": bench.primary_metric,
        "direction": bench.primary_direction,
        "metrics": bench.metrics,
        "count": leaderboard_count(benchmark=bench, split=b.split),
        "offset": b.offset,
        "results": rows_as_dicts(bench, b.rows),
    }


def board_records(b: Board) -> list[dict]:
    """The rows as flat records (the CSV export)."""
    return rows_as_dicts(b.benchmark, b.rows)


def etag_of(body: dict) -> str:
    return '"' + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32] + '"'


@dataclass
class SuiteBoard:
    benchmark: Benchmark
    split: str
    rows: list[SuiteRow]
    hidden_members: list[str]  # members whose split this viewer may not see: counted as missing


def suite_board(*, benchmark: Benchmark, split: str, user) -> SuiteBoard:
    return SuiteBoard(
        benchmark=benchmark,
        split=split,
        rows=suite_rows(benchmark=benchmark, split=split, user=user),
        hidden_members=suite_hidden_members(benchmark=benchmark, split=split, user=user),
    )


def suite_body(b: SuiteBoard) -> dict:
    """The API's JSON suite leaderboard: one IQM row per group of people."""
    return {
        "benchmark": b.benchmark.slug, "split": b.split, "primary_metric": "iqm", "direction": "max",
        # The rows' metric, whatever the suite's YAML declares for itself.
        "metrics": [{"key": "iqm", "label": "IQM of normalised scores", "direction": "max"}],
        "count": len(b.rows),
        "hidden_members": b.hidden_members,
        "results": [
            {"rank": r.rank, "team": r.team, "iqm": r.iqm, "primary_value": r.iqm,
             "iqm_ci_low": r.ci[0] if r.ci else None, "iqm_ci_high": r.ci[1] if r.ci else None,
             "normalised": r.normalised, "scores": r.raw, "missing": r.missing,
             "tied_with_leader": r.tied_with_leader, **rank_uncertainty_fields(r)}
            for r in b.rows
        ],
    }

