"""Suite leaderboards: each member benchmark's score min–max normalised against
stored references, aggregated with the interquartile mean, with a stratified
bootstrap CI (``evaluator.suite``, GEO-Bench style).

A member's values on a split are read only where that member's split is visible
to the viewer (``split_visible``, the one visibility rule): before a member's
own deadline its private values are hidden, so on the suite's private board
that member counts as missing for every team (``hidden_members`` lists it and
the page says so).

Teams are per benchmark, so a suite row is a *group of people*: the member
benchmarks' teams with the same set of members form one row (a team without
members, e.g. whose users were deleted, is matched by its name). The row is
labelled with the name most of those teams carry (ties: alphabetical); two
different groups whose teams carry the same name get their members appended.
"""

from __future__ import annotations

from collections import Counter
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


def suite_references(*, benchmark: Benchmark) -> tuple[dict, dict]:
    """``(references, metric_of)`` of the suite's loaded member benchmarks."""
    spec = benchmark.spec["suite"]
    refs = spec.get("reference", {})
    members = {b.slug: b for b in Benchmark.objects.filter(slug__in=spec["members"])}
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
    return references, metric_of


def suite_rows(
    *, benchmark: Benchmark, split: str = "public", user=None, now: datetime | None = None
) -> list[SuiteRow]:
    """Rows as ``user`` may see them (None: anonymous). A member whose ``split`` is
    hidden from ``user`` keeps its reference (so every team lacks it: missing)
    but none of its entries is read."""
    references, metric_of = suite_references(benchmark=benchmark)
    members = Benchmark.objects.filter(slug__in=list(references)).prefetch_related("hosts")
    readable = [
        b.slug for b in members if split_visible(benchmark=b, split=split, user=user, now=now)
    ]
    entries = list(
        LeaderboardEntry.objects.filter(
            benchmark__slug__in=readable, split=split, is_baseline=False
        )
        .select_related("team", "score", "benchmark")
        .defer("score__samples")  # per-sample contributions: large, unused here
        .prefetch_related("team__memberships__user")
    )
    label = group_labels([e.team for e in entries])
    values = [(label[e.team.pk], e.benchmark, e.score) for e in entries]
    return suite_rows_from(benchmark=benchmark, values=values, references=references, metric_of=metric_of)


def group_labels(teams) -> dict[int, str]:
    """Team id -> suite row label: one label per group of people (see above)."""
    groups: dict[tuple, list] = {}
    for t in {t.pk: t for t in teams}.values():
        members = frozenset(m.user_id for m in t.memberships.all())
        key = ("users", members) if members else ("name", t.name)
        groups.setdefault(key, []).append(t)
    names = {}
    for key, ts in groups.items():
        counts = Counter(t.name for t in ts)
        names[key] = min(counts, key=lambda n: (-counts[n], n))
    clashes = Counter(names.values())
    out: dict[int, str] = {}
    for key, ts in groups.items():
        name = names[key]
        if clashes[name] > 1 and key[0] == "users":
            users = sorted(m.user.get_username() for m in ts[0].memberships.all())
            name = f"{name} ({', '.join(users)})"
        for t in ts:
            out[t.pk] = name
    return out


def suite_rows_from(*, benchmark: Benchmark, values, references, metric_of) -> list[SuiteRow]:
    """Aggregate ``(row label, member benchmark, Score)`` triples into ranked rows."""
    spec = benchmark.spec["suite"]
    scores: dict[str, dict[str, float]] = {}
    draws: dict[str, dict[str, list[float]]] = {}
    for row, bench, score in values:
        metric = metric_of[bench.slug]
        value = score.metrics.get(metric)
        if not isinstance(value, int | float):
            continue
        scores.setdefault(row, {})[bench.slug] = float(value)
        if metric == bench.primary_metric and score.primary_draws:
            draws.setdefault(row, {})[bench.slug] = score.primary_draws
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
