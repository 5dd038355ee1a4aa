"""CSV/JSON renderings of leaderboards and full results (for hosts)."""

from __future__ import annotations

import csv
import io

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.rank_uncertainty import excludes_zero
from earthbench.leaderboards.selectors import Row
from earthbench.submissions.models import Score


def rows_as_dicts(benchmark: Benchmark, rows: list[Row]) -> list[dict]:
    keys = [m["key"] for m in benchmark.metrics]
    out = []
    for r in rows:
        d = {
            "rank": r.rank,
            "team": r.team,
            "submission_id": r.submission_id,
            "method_name": r.method_name,
            "submitted_at": r.created_at.isoformat(),
            "is_baseline": r.is_baseline,
            "primary_value": r.primary_value,
            "entries": r.entries,
            "tied_with_leader": r.tied_with_leader,
            **rank_uncertainty_fields(r),
        }
        for k in keys:
            d[k] = r.metrics.get(k)
            ci = r.ci.get(k) or [None, None]
            d[f"{k}_ci_low"], d[f"{k}_ci_high"] = ci[0], ci[1]
        for k in ("latency_ms_per_sample", "peak_memory_mb", "peak_gpu_memory_mb"):
            if r.efficiency.get(k) is not None:
                d[k] = r.efficiency.get(k)
        out.append(d)
    return out


# A cell a spreadsheet would execute as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """Text starting like a formula gets a leading apostrophe, so a spreadsheet
    shows it as text; numbers (a negative score) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _paired(prefix: str, diff: list | None) -> dict:
    est, lo, hi = diff if diff else (None, None, None)
    return {
        f"{prefix}_diff": est,
        f"{prefix}_diff_low": lo,
        f"{prefix}_diff_high": hi,
        f"{prefix}_significant": excludes_zero(diff),
    }


def rank_uncertainty_fields(r) -> dict:
    """Rank interval, P(first) and paired comparisons of one row (flat keys)."""
    return {
        "rank_low": r.rank_low,
        "rank_high": r.rank_high,
        "p_first": r.p_first,
        **_paired("vs_leader", r.vs_leader),
        **_paired("vs_above", r.vs_above),
    }


def to_csv(records: list[dict]) -> str:
    """Every CSV export goes through here: each text cell is neutralised."""
    buf = io.StringIO()
    if not records:
        return ""
    fields = list(dict.fromkeys(k for r in records for k in r))
    w = csv.DictWriter(buf, fieldnames=[neutralise_cell(f) for f in fields], extrasaction="ignore")
    w.writeheader()
    w.writerows({neutralise_cell(k): neutralise_cell(v) for k, v in r.items()} for r in records)
    return buf.getvalue()


def full_results(benchmark: Benchmark) -> list[dict]:
    """Every current score of every submission (hosts only): one row per split."""
    keys = [m["key"] for m in benchmark.metrics]
    out = []
    scores = (
        Score.objects.filter(submission__benchmark=benchmark, is_current=True)
        .select_related("submission", "submission__team", "submission__created_by")
        .order_by("submission_id", "split")
    )
    for s in scores:
        sub = s.submission
        d = {
            "submission_id": sub.pk,
            "team": sub.team.name,
            "user": sub.created_by.get_username(),
            "split": s.split,
            "status": sub.status,
            "method_name": sub.method_name,
            "submitted_at": sub.created_at.isoformat(),
            "is_selected": sub.is_selected,
            "is_hidden": sub.is_hidden,
            "hidden_reason": sub.hidden_reason,
            "is_baseline": sub.is_baseline,
            "file_sha256": sub.file_sha256,
            "evaluator_version": s.evaluator_version,
        }
        for k in keys:
            d[k] = s.metrics.get(k)
        out.append(d)
    return out
