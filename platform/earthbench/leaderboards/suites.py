"""Suite leaderboards: each member benchmark's score min–max normalised against
stored references, aggregated with the interquartile mean, with a stratified
bootstrap CI (``evaluator.suite``, GEO-Bench style).

A member's values on a split are read only where that member's split is visible
to the viewer (``split_visible``, the one visibility rule): before a member's
own deadline its private values are hidden, so on the suite's private board
that member counts as missing for every team (``hidden_members`` lists it and
the page says so)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.leaderboards.rank_uncertainty import annotate_suite_rows
from earthbench.leaderboards.selectors import split_visible
from evaluator.suite import suite_scores


@dataclass
class SuiteRow:
    rank: int | None
    team: str
    iqm: float | None
    ci: tuple[float, float] | None
    normalised: dict[str, float]
    raw: dict[str, float]
    missing: list[str] = field(default_factory=list)
    rank_low: int | None = None
    rank_high: int | None = None
    p_first: float | None = None
    rank_shares: dict = field(default_factory=dict)
    vs_leader: list | None = None
    vs_above: list | None = None
    tied_with_leader: bool = False


def is_suite(benchmark: Benchmark) -> bool:
    return bool(benchmark.spec.get("suite", {}).get("members"))


def suite_hidden_members(
    *, benchmark: Benchmark, split: str, user=None, now: datetime | None = None
) -> list[str]:
    """Loaded members whose ``split`` is not visible to ``user``: they count as missing."""
    members = Benchmark.objects.filter(slug__in=benchmark.spec["suite"]["members"]).prefetch_related("hosts")
    return sorted(
        b.slug for b in members if not split_visible(benchmark=b, split=split, user=user, now=now)
    )


def suite_rows(
    *, benchmark: Benchmark, split: str = "public", user=None, now: datetime | None = None
) -> list[SuiteRow]:
    """Rows as ``user`` may see them (None: anonymous). A member whose ``split`` is
    hidden from ``user`` keeps its reference (so every team lacks it: missing)
    but none of its entries is read."""
    spec = benchmark.spec["suite"]
    refs = spec.get("reference", {})
    members = {b.slug: b for b in Benchmark.objects.filter(slug__in=spec["members"])}
    readable = [
        slug for slug, b in members.items()
        if split_visible(benchmark=b, split=split, user=user, now=now)
    ]
    references, metric_of = {}, {}
    for slug in spec["members"]:
        bench = members.get(slug)
        if bench is None:
            continue  # a member not loaded is simply absent
        ref = refs.get(slug, {})
        metric = ref.get("metric", bench.primary_metric)
        metric_of[slug] = metric
        references[slug] = {
            "direction": ref.get("direction", bench.primary_direction),
            **({"scores": ref["scores"]} if "scores" in ref else {"min": ref.get("min", 0.0), "max": ref.get("max", 1.0)}),
        }
    scores: dict[str, dict[str, float]] = {}
    draws: dict[str, dict[str, list[float]]] = {}
    entries = LeaderboardEntry.objects.filter(
        benchmark__slug__in=readable, split=split, is_baseline=False
    ).select_related("team", "score", "benchmark")
    for e in entries:
        metric = metric_of[e.benchmark.slug]
        value = e.score.metrics.get(metric)
        if not isinstance(value, int | float):
            continue
        scores.setdefault(e.team.name, {})[e.benchmark.slug] = float(value)
        if metric == e.benchmark.primary_metric and e.score.primary_draws:
            draws.setdefault(e.team.name, {})[e.benchmark.slug] = e.score.primary_draws
    if not scores:
        return []
    result = suite_scores(
        scores,
        references,
        draws=draws,
        n_resamples=int(spec.get("n_resamples", 1000)),
        confidence=float(spec.get("confidence", 0.95)),
        seed=int(spec.get("seed", 0)),
    )
    rows = [
        SuiteRow(rank=None, team=team, iqm=r["iqm"], ci=r["ci"], normalised=r["normalised"],
                 raw=scores[team], missing=r["missing"])
        for team, r in result.items()
    ]
    rows.sort(key=lambda r: (r.iqm is None, -(r.iqm or 0.0), r.team))
    for i, r in enumerate(rows, start=1):
        r.rank = i if r.iqm is not None else None
    annotate_suite_rows(rows, {team: r.get("draws") for team, r in result.items()})
    return rows
