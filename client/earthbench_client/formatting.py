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


def scalar_metric_keys(
    rows: Sequence[dict], primary: str | None, declared: Sequence[str] | None = None
) -> list[str]:
    """Metric columns: the primary, then the benchmark's declared metrics; without a
    declaration, every numeric metric in first-seen order (nested dicts skipped)."""
    keys: list[str] = [primary] if primary else []
    if declared:
        return keys + [k for k in declared if k and k not in keys]
    for row in rows:
        for k, v in (row.get("metrics") or {}).items():
            if k in keys or k in ("n_samples", "n_missing", "primary"):
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                keys.append(k)
    return keys


def leaderboard_table(board: dict, declared: Sequence[str] | None = None) -> str:
    rows = board.get("results") or []
    primary = board.get("primary_metric")
    keys = scalar_metric_keys(rows, primary, declared)
    arrow = "↓" if board.get("direction") == "min" else "↑"
    headers = ["rank", "team", "method", "id"]
    headers += [f"{k} {arrow}" if k == primary else k for k in keys]
    headers += [f"{primary} 95% CI", "entries"]
    body = []
    for r in rows:
        metrics = r.get("metrics") or {}
        ci = (r.get("ci") or {}).get(primary) or []
        ci_text = f"{ci[0]:.4f}–{ci[1]:.4f}" if len(ci) == 2 and None not in ci else "-"
        team = r.get("team", "") + (" (baseline)" if r.get("is_baseline") else "")
        values = [
            r.get("primary_value") if k == primary else metrics.get(k) for k in keys
        ]
        rank = r.get("rank")
        body.append(
            [
                rank if rank is not None else "-",
                team,
                r.get("method_name") or "",
                r.get("submission_id"),
                *values,
                ci_text,
                r.get("entries"),
            ]
        )
    title = (
        f"{board.get('benchmark')} — {board.get('split')} leaderboard "
        f"(primary: {primary}, {'lower' if arrow == '↓' else 'higher'} is better)"
    )
    if not rows:
        return title + "\n(no scored submissions yet)"
    return title + "\n" + render_table(headers, body)


def leaderboard_csv(
    board: dict, out: TextIO, declared: Sequence[str] | None = None
) -> None:
    """One row per entry; each metric with its CI bounds when known."""
    rows = board.get("results") or []
    keys = scalar_metric_keys(rows, board.get("primary_metric"), declared)
    header = [
        "rank",
        "team",
        "submission_id",
        "method_name",
        "created_at",
        "is_baseline",
        "entries",
    ]
    for k in keys:
        header += [k, f"{k}_ci_low", f"{k}_ci_high"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    primary = board.get("primary_metric")
    for r in rows:
        metrics = r.get("metrics") or {}
        line = [
            "" if r.get("rank") is None else r["rank"],
            r.get("team", ""),
            r.get("submission_id", ""),
            r.get("method_name") or "",
            r.get("created_at") or "",
            "true" if r.get("is_baseline") else "false",
            r.get("entries", ""),
        ]
        for k in keys:
            v = r.get("primary_value") if k == primary else metrics.get(k)
            ci = (r.get("ci") or {}).get(k) or [None, None]
            line += [
                _csv_num(v),
                _csv_num(ci[0]),
                _csv_num(ci[1] if len(ci) > 1 else None),
            ]
        writer.writerow(line)


def _csv_num(v: Any) -> str:
    # repr-precision floats: CSV consumers should get the exact stored value.
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


def dump_json(obj: Any, out: TextIO) -> None:
    json.dump(obj, out, indent=2, ensure_ascii=False)
    out.write("\n")


def score_line(submission: dict, split: str = "public") -> str:
    """``#12 scored — oa=0.9500 [0.9100, 0.9800] on public``."""
    head = f"#{submission.get('id')} {submission.get('benchmark')}: {submission.get('status')}"
    scores = {s.get("split"): s for s in submission.get("scores") or []}
    parts = []
    for name in [split, *sorted(k for k in scores if k != split)]:
        s = scores.get(name)
        if not s:
            continue
        key = (s.get("metrics") or {}).get("primary", "score")
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
