"""Rank intervals, P(first) and paired comparisons, stored on LeaderboardEntry.

Computed when a split's entries change (after the commit that changed them),
never on a read. The paired statistics come from ``evaluator.rank_stats``; the
draws are each entry's stored primary-metric bootstrap draws, which are paired
when their ``Score.draws_key`` is equal (same samples, blocks, count and seed).

Which entries take part: the ranked (non-baseline) entries of the split whose
draws carry the split's most common draws key. An entry scored on other
resamples (an older evaluator, another resample count) or without draws keeps
null rank statistics and is shown without them, never compared unpaired.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from django.db import connection, transaction

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import LeaderboardEntry
from evaluator.rank_stats import (
    draws_matrix,
    paired_differences_to_leader_and_above,
    rank_statistics,
)

SPLITS = ("public", "private")
ORDER = ("sort_value", "submitted_at", "submission_id")

def schedule_rank_refresh(*, benchmark_id: int) -> None:
    """Refresh the benchmark's rank statistics once the current transaction commits.

    Many team refreshes in one transaction cause one computation: a refresh
    already queued on this connection's commit callbacks is not queued again (a
    rolled-back transaction drops its callbacks, and with them the mark).
    """
    connection_ = transaction.get_connection()
    if any(
        getattr(callback, "rank_refresh_of", None) == benchmark_id
        for _, callback, *_ in connection_.run_on_commit
    ):
        return

    def run() -> None:
        benchmark = Benchmark.objects.filter(pk=benchmark_id).first()
        if benchmark is not None:
            leaderboard_refresh_rank_stats(benchmark=benchmark)

    run.rank_refresh_of = benchmark_id
    transaction.on_commit(run)


def leaderboard_refresh_rank_stats(*, benchmark: Benchmark) -> None:
    for split in SPLITS:
        _refresh_split(benchmark=benchmark, split=split)


@transaction.atomic
def _refresh_split(*, benchmark: Benchmark, split: str) -> None:
    # One refresh of a benchmark at a time: lock its row.
    Benchmark.objects.select_for_update().filter(pk=benchmark.pk).first()
    entries = [
        (pk, value, key, np.array(draws if isinstance(draws, list) else [], dtype=np.float64))
        for pk, value, key, draws in LeaderboardEntry.objects.filter(
            benchmark=benchmark, split=split, is_baseline=False
        )
        .order_by(*ORDER)
        .values_list("pk", "primary_value", "score__draws_key", "score__primary_draws")
    ]
    keys = Counter(k for _, _, k, d in entries if k and len(d))
    common = keys.most_common(1)[0][0] if keys else None
    paired = [(pk, value, d) for pk, value, k, d in entries if common and k == common]
    updates = {pk: dict.fromkeys(_FIELDS) | {"rank_shares": {}} for pk, *_ in entries}
    updates.update(row_statistics(paired, benchmark.primary_direction))
    _write(updates)


_FIELDS = ("rank_low", "rank_high", "p_first", "rank_shares", "vs_leader", "vs_above")
_JSON_FIELDS = {"rank_shares", "vs_leader", "vs_above"}


def _write(updates: dict[int, dict]) -> None:
    """One UPDATE per entry through executemany (a CASE-per-field bulk_update is
    quadratic on SQLite at thousands of rows)."""
    if not updates:
        return
    table = LeaderboardEntry._meta.db_table
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    sets = ", ".join(
        f"{f} = %s{cast if f in _JSON_FIELDS else ''}" for f in _FIELDS
    )
    params = [
        [json.dumps(u[f]) if f in _JSON_FIELDS and u[f] is not None else u[f] for f in _FIELDS]
        + [pk]
        for pk, u in updates.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", params)


def excludes_zero(diff: list | None) -> bool | None:
    """Whether a stored [estimate, low, high] paired interval excludes 0."""
    if not diff or diff[1] is None or diff[2] is None:
        return None
    return diff[1] > 0 or diff[2] < 0


def row_statistics(rows: list[tuple], direction: str) -> dict:
    """``{key: fields}`` for rows ``(key, observed value, draws)`` in rank order:
    rank interval, P(first), rank shares and the paired differences to the leader
    and the row above. Only rows with the most common number of draws take part
    (draws of another length cannot come from the same resamples)."""
    lengths = Counter(len(d) for _, _, d in rows if d is not None and len(d))
    if not lengths:
        return {}
    n_draws = lengths.most_common(1)[0][0]
    rows = [r for r in rows if r[2] is not None and len(r[2]) == n_draws]
    draws = draws_matrix([list(d) for _, _, d in rows])
    stats = rank_statistics(draws, direction)
    vs_leader, vs_above = paired_differences_to_leader_and_above(
        draws, direction, [value for _, value, _ in rows]
    )
    return {
        key: {
            "rank_low": int(stats.rank_low[i]),
            "rank_high": int(stats.rank_high[i]),
            "p_first": round(float(stats.p_first[i]), 6),
            "rank_shares": {str(k): round(v, 6) for k, v in stats.rank_shares[i].items()},
            "vs_leader": vs_leader[i].as_list() if vs_leader[i] else None,
            "vs_above": vs_above[i].as_list() if vs_above[i] else None,
        }
        for i, (key, _, _) in enumerate(rows)
    }


def annotate_suite_rows(rows: list, draws_by_team: dict) -> None:
    """Rank statistics of suite rows (in rank order) from their paired IQM draws.

    Suites are aggregated on read from the members' stored entries, so their
    rank statistics are too (a few teams × members: cheap).
    """
    ranked = [r for r in rows if r.rank is not None]
    stats = row_statistics([(r.team, r.iqm, draws_by_team.get(r.team)) for r in ranked], "max")
    for r in ranked:
        for name, value in stats.get(r.team, {}).items():
            setattr(r, name, value)
        r.tied_with_leader = excludes_zero(r.vs_leader) is False
    if any(r.tied_with_leader for r in ranked):
        ranked[0].tied_with_leader = True
