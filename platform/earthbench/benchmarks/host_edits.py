"""Host edits of a benchmark's fields: every value is validated first (an
``EditError`` names the field), then all are written in one transaction with one
audit row per changed field."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from earthbench.benchmarks import services
from earthbench.benchmarks.hosting import record_change, require_manage
from earthbench.benchmarks.models import Benchmark


def _jsonable(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


class EditError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"field '{field}': {message}")
        self.field = field


def _int(field, v, minimum):
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise EditError(field, f"expected a whole number, got {v!r}")
    try:
        n = int(v)
    except ValueError:
        raise EditError(field, f"expected a whole number, got {v!r}") from None
    if n < minimum:
        raise EditError(field, f"must be at least {minimum}")
    return n


def _when(field, v):
    if v in (None, ""):
        return None
    if not isinstance(v, str):
        raise EditError(field, f"expected an ISO 8601 date-time, got {v!r}")
    try:
        return services._deadline(v)
    except ValueError:
        raise EditError(field, f"{v!r} is not an ISO 8601 date-time") from None


def _text(field, v, lo, hi):
    if not isinstance(v, str) or not (lo <= len(v.strip()) <= hi):
        raise EditError(field, f"expected text of {lo} to {hi} characters")
    return v.strip()


LIMIT_KEYS = {"time_s": 1, "memory_mb": 64, "cpus": 0.1, "gpus": 0}


def check_limits(field, v):
    """Container limits: ``time_s``, ``memory_mb``, ``cpus``, ``gpus`` (numbers)."""
    if not isinstance(v, dict):
        raise EditError(field, "expected a mapping of time_s, memory_mb, cpus, gpus")
    out = {}
    for k, val in v.items():
        if k not in LIMIT_KEYS:
            raise EditError(f"{field}.{k}", f"unknown limit (allowed: {', '.join(LIMIT_KEYS)})")
        if isinstance(val, bool) or not isinstance(val, int | float) or val < LIMIT_KEYS[k]:
            raise EditError(f"{field}.{k}", f"expected a number of at least {LIMIT_KEYS[k]}")
        out[k] = val
    return out


EDITABLE = {
    "title": lambda v: _text("title", v, 3, 200),
    "summary": lambda v: _text("summary", v, 10, 5000),
    "card": lambda v: _text("card", v, 0, 100_000),
    "deadline": lambda v: _when("deadline", v),
    "merge_deadline": lambda v: _when("merge_deadline", v),
    "daily_quota": lambda v: _int("daily_quota", v, 1),
    "max_in_flight": lambda v: _int("max_in_flight", v, 1),
    "final_selection_count": lambda v: _int("final_selection_count", v, 0),
    # container seconds per team per UTC day (submissions.quota); 0 = no budget
    "daily_compute_seconds": lambda v: _int("daily_compute_seconds", v, 0),
    "container_limits": lambda v: check_limits("container_limits", v),
}


def editable_fields() -> list[str]:
    """The fields hosts edit."""
    return list(EDITABLE)


def benchmark_edit(*, user, benchmark: Benchmark, changes: dict[str, Any]) -> list[str]:
    """Apply host edits; all are validated first (EditError names the field), then
    written in one transaction, one audit row per changed field."""
    require_manage(user=user, benchmark=benchmark)
    allowed = editable_fields()
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in allowed:
            raise EditError(name, f"not editable (editable: {', '.join(allowed)})")
        clean[name] = EDITABLE[name](value)
    deadline = clean.get("deadline", benchmark.deadline)
    merge = clean.get("merge_deadline", benchmark.merge_deadline)
    if deadline and merge and merge > deadline:
        raise EditError("merge_deadline", "must not be after the deadline")
    done = []
    with transaction.atomic():
        bench = Benchmark.objects.select_for_update().get(pk=benchmark.pk)
        for name, value in clean.items():
            old = getattr(bench, name)
            if _jsonable(old) == _jsonable(value):
                continue
            setattr(bench, name, value)
            record_change(benchmark=bench, user=user, action="edited", field=name,
                          old=_jsonable(old), new=_jsonable(value))
            done.append(name)
        if done:
            bench.save()
    if "final_selection_count" in done or "deadline" in done:
        from earthbench.leaderboards.services import leaderboard_refresh_benchmark

        leaderboard_refresh_benchmark(benchmark=bench)
    benchmark.refresh_from_db()
    return done
