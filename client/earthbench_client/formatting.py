"""Human-readable tables and CSV for stdout."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from typing import Any, TextIO


def fmt_number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Plain aligned columns; numbers right-aligned."""
    cells = [
        [fmt_number(c) if not isinstance(c, str) else c for c in row] for row in rows
    ]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) and rows
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i])
            for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


# Efficiency columns the API adds to rows of container submissions.
EFFICIENCY_KEYS = ("latency_ms_per_sample", "peak_memory_mb", "peak_gpu_memory_mb")
_NOT_METRICS = frozenset({"n_samples", "n_missing", "primary"})


def metric_keys(board: dict, declared: Sequence[str] | None = None) -> list[str]:
    """Metric columns: the primary, then the benchmark's declared metrics (the
    leaderboard body carries them as ``metrics``; ``declared`` is a fallback)."""
    primary = board.get("primary_metric")
    keys: list[str] = [primary] if primary else []
    listed = [
        m.get("key") for m in board.get("metrics") or [] if isinstance(m, dict)
    ] or list(declared or [])
    keys += [k for k in listed if k and k not in keys]
    if len(keys) > (1 if primary else 0):
        return keys
    # No declaration at all: every numeric flat key that has interval columns.
    for row in board.get("results") or []:
        for k in row:
            if k.endswith("_ci_low") and k[: -len("_ci_low")] not in keys:
                keys.append(k[: -len("_ci_low")])
    return keys


def metric_value(row: dict, key: str, primary: str | None) -> Any:
    """The API's leaderboard rows are flat: ``{"oa": 0.9, "oa_ci_low": ...}``."""
    if key in row:
        return row[key]
    if key == primary:
        return row.get("primary_value")
    return None


def metric_ci(row: dict, key: str) -> tuple[Any, Any]:
    return row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")


def submitted_at(row: dict) -> str:
    return row.get("submitted_at") or ""


def efficiency_keys(rows: Sequence[dict]) -> list[str]:
    return [k for k in EFFICIENCY_KEYS if any(r.get(k) is not None for r in rows)]


def rank_text(r: dict) -> Any:
    """``2 (1–4)``: the rank and its 95% bootstrap interval (docs: rank uncertainty)."""
    rank = r.get("rank")
    if rank is None:
        return "-"
    low, high = r.get("rank_low"), r.get("rank_high")
    if low is None or high is None:
        return rank
    return f"{rank} ({low})" if low == high else f"{rank} ({low}–{high})"


def p_first_text(r: dict) -> str:
    p = r.get("p_first")
    return "-" if p is None else f"{p:.2f}"


def _ci_text(low: Any, high: Any) -> str:
    if isinstance(low, int | float) and isinstance(high, int | float):
        return f"{low:.4f}–{high:.4f}"
    return "-"


def leaderboard_table(board: dict, declared: Sequence[str] | None = None) -> str:
    rows = board.get("results") or []
    primary = board.get("primary_metric")
    keys = metric_keys(board, declared)
    eff = efficiency_keys(rows)
    arrow = "↓" if board.get("direction") == "min" else "↑"
    if rows and not any("submission_id" in r for r in rows):
        return _suite_table(board, keys)
    ranked = any(r.get("p_first") is not None for r in rows)
    headers = ["rank", *(["P(1st)"] if ranked else []), "team", "method", "id"]
    headers += [f"{k} {arrow}" if k == primary else k for k in keys]
    headers += [f"{primary} 95% CI", *eff, "entries", "submitted"]
    body = []
    for r in rows:
        team = r.get("team", "") + (" (baseline)" if r.get("is_baseline") else "")
        if r.get("tied_with_leader"):
            team += " (tied)"
        body.append(
            [
                rank_text(r),
                *([p_first_text(r)] if ranked else []),
                team,
                r.get("method_name") or "",
                r.get("submission_id"),
                *[metric_value(r, k, primary) for k in keys],
                _ci_text(*metric_ci(r, primary)),
                *[r.get(k) for k in eff],
                r.get("entries"),
                submitted_at(r)[:19].replace("T", " ") or "-",
            ]
        )
    title = (
        f"{board.get('benchmark')} — {board.get('split')} leaderboard "
        f"(primary: {primary}, {'lower' if arrow == '↓' else 'higher'} is better)"
    )
    if not rows:
        return title + "\n(no scored submissions yet)"
    return title + "\n" + render_table(headers, body)


def _suite_table(board: dict, keys: Sequence[str]) -> str:
    """A suite's rows: teams aggregated over the members (no submission)."""
    primary = board.get("primary_metric")
    rows = board.get("results") or []
    ranked = any(r.get("p_first") is not None for r in rows)
    headers = ["rank", *(["P(1st)"] if ranked else []), "team", *keys, f"{primary} 95% CI",
               "missing members"]
    body = [
        [
            rank_text(r),
            *([p_first_text(r)] if ranked else []),
            r.get("team", ""),
            *[metric_value(r, k, primary) for k in keys],
            _ci_text(*metric_ci(r, primary)),
            ", ".join(r.get("missing") or []) or "-",
        ]
        for r in rows
    ]
    title = f"{board.get('benchmark')} — {board.get('split')} suite leaderboard (primary: {primary})"
    return title + "\n" + render_table(headers, body)


CSV_HEAD = (
    "rank",
    "rank_low",
    "rank_high",
    "p_first",
    "team",
    "submission_id",
    "method_name",
    "submitted_at",
    "is_baseline",
    "tied_with_leader",
    "entries",
)


def leaderboard_csv(
    board: dict, out: TextIO, declared: Sequence[str] | None = None
) -> None:
    """One row per entry; each metric with its CI bounds when known."""
    rows = board.get("results") or []
    primary = board.get("primary_metric")
    keys = metric_keys(board, declared)
    eff = efficiency_keys(rows)
    # Suite rows have no submission: only the columns the API gives.
    head = [c for c in CSV_HEAD if not rows or any(c in r for r in rows)]
    header = list(head)
    for k in keys:
        header += [k, f"{k}_ci_low", f"{k}_ci_high"]
    header += eff
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        cells = {
            "rank": "" if r.get("rank") is None else r["rank"],
            "rank_low": "" if r.get("rank_low") is None else r["rank_low"],
            "rank_high": "" if r.get("rank_high") is None else r["rank_high"],
            "p_first": _csv_num(r.get("p_first")),
            "team": r.get("team", ""),
            "submission_id": r.get("submission_id", ""),
            "method_name": r.get("method_name") or "",
            "submitted_at": submitted_at(r),
            "is_baseline": "true" if r.get("is_baseline") else "false",
            "tied_with_leader": "true" if r.get("tied_with_leader") else "false",
            "entries": r.get("entries", ""),
        }
        line = [cells[c] for c in head]
        for k in keys:
            low, high = metric_ci(r, k)
            line += [
                _csv_num(metric_value(r, k, primary)),
                _csv_num(low),
                _csv_num(high),
            ]
        line += [_csv_num(r.get(k)) for k in eff]
        writer.writerow(line)


def _csv_num(v: Any) -> str:
    # repr-precision floats: CSV consumers should get the exact stored value.
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


def dump_json(obj: Any, out: TextIO) -> None:
    json.dump(obj, out, indent=2, ensure_ascii=False)
    out.write("\n")


def score_primary(score: dict, primary: str | None = None) -> str:
    """The primary metric's key: the score's own, else the benchmark's. The
    evaluator's ``metrics["primary"]`` is only a last resort: a benchmark may rank
    on another metric than its kind's default (DOTA: ap50, not map)."""
    return (
        score.get("primary_metric")
        or primary
        or (score.get("metrics") or {}).get("primary")
        or "score"
    )


def score_line(
    submission: dict, split: str = "public", primary: str | None = None
) -> str:
    """``#12 bench: scored — oa=0.9500 [0.9100, 0.9800] on public``."""
    head = f"#{submission.get('id')} {submission.get('benchmark')}: {submission.get('status')}"
    scores = {s.get("split"): s for s in submission.get("scores") or []}
    parts = []
    for name in [split, *sorted(k for k in scores if k != split)]:
        s = scores.get(name)
        if not s:
            continue
        key = score_primary(s, primary)
        ci = (s.get("ci") or {}).get(key) or []
        ci_text = (
            f" [{ci[0]:.4f}, {ci[1]:.4f}]" if len(ci) == 2 and None not in ci else ""
        )
        parts.append(f"{key}={fmt_number(s.get('primary_value'))}{ci_text} on {name}")
    if parts:
        head += " — " + "; ".join(parts)
    if submission.get("error"):
        head += f" — {submission['error']}"
    return head
