"""Page-specific reads for the website. Each runs a fixed number of queries,
whatever the number of benchmarks, teams or submissions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from earthbench import storage
from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.selectors import CatalogFilter, filter_catalog, sensors_of
from earthbench.submissions.models import Score, Submission
from earthbench.submissions.selectors import submissions_of

# ------------------------------------------------------------------ catalog


@dataclass
class CatalogFilters(CatalogFilter):
    """The catalog page's query: the shared filters (``benchmarks.selectors.
    CatalogFilter``, one meaning each, as in the API) plus how to show them."""

    sort: str = ""  # not a filter: the order (see CATALOG_SORTS)
    view: str = ""  # "cards" for the card view; the compact table otherwise

    def query(self, **changes) -> str:
        """The query string of these filters with ``changes`` (for sort links)."""
        from urllib.parse import urlencode

        values = {**vars(self), **changes}
        return urlencode({k: v for k, v in values.items() if v})


@dataclass
class Facets:
    kinds: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    papers: list[str] = field(default_factory=list)


def catalog(*, filters: CatalogFilters) -> tuple[list[Benchmark], Facets]:
    """Published benchmarks matching ``filters`` and the facet values of all of them
    (one query; the filter itself is ``benchmarks.selectors.filter_catalog``)."""
    benches = list(
        Benchmark.objects.filter(is_published=True)
        .defer("card")
        .annotate(n_subs=Count("submissions", filter=Q(submissions__status="scored")))
        .order_by("title")
    )
    facets = Facets(
        kinds=sorted({b.task_kind for b in benches}),
        modalities=sorted({m for b in benches for m in b.modalities}),
        sensors=sorted({s for b in benches for s in sensors_of(b)}, key=str.lower),
        papers=sorted({p for b in benches for p in b.papers}, key=str.lower),
    )
    for b in benches:
        b.sensors = sensors_of(b)
    return sort_catalog(filter_catalog(benches, filters), filters.sort), facets


CATALOG_SORTS = {
    "title": lambda b: b.title.lower(),
    "kind": lambda b: (b.task_kind, b.title.lower()),
    "modality": lambda b: (", ".join(sorted(b.modalities)), b.title.lower()),
    "sensor": lambda b: (", ".join(sensors_of(b)).lower() or "~", b.title.lower()),
    "paper": lambda b: ((b.papers or ["~"])[0].lower(), b.title.lower()),
    "entries": lambda b: (-getattr(b, "n_subs", 0), b.title.lower()),
}


def catalog_links(f: CatalogFilters) -> dict:
    """Links of the catalog's column headers (click again: reverse) and view switch."""
    links = {}
    for col in CATALOG_SORTS:
        target = f"-{col}" if f.sort == col else col
        links[col] = "?" + f.query(sort=target)
    links["cards"] = "?" + f.query(view="cards")
    links["table"] = "?" + f.query(view="")
    return links


def sort_catalog(benches: list[Benchmark], sort: str) -> list[Benchmark]:
    """``sort`` is a key of CATALOG_SORTS, ``-`` first for the reverse order."""
    key = CATALOG_SORTS.get(sort.removeprefix("-"), CATALOG_SORTS["title"])
    return sorted(benches, key=key, reverse=sort.startswith("-"))


# ------------------------------------------------------------------ data tab

_SAMPLE_RE = re.compile(r"^sample_submission(\.[A-Za-z0-9]+)+$")


def sample_submission_path(slug: str) -> Path | None:
    """The public ``sample_submission.*`` file of a benchmark, if its data has one."""
    folder = storage.public_dir(slug)
    if not folder.is_dir():
        return None
    found = sorted(
        p for p in folder.iterdir() if p.is_file() and _SAMPLE_RE.match(p.name)
    )
    return found[0] if found else None


def text_head(path: Path, *, lines: int = 6, max_chars: int = 2000) -> str | None:
    """The first lines of a small text file, or None for binary content."""
    with open(path, "rb") as fh:
        raw = fh.read(max_chars)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text.splitlines()[:lines]
    return "\n".join(head) + ("\n…" if len(text.splitlines()) > lines else "")


def public_readme(slug: str) -> str | None:
    for name in ("README.txt", "README.md"):
        path = storage.public_dir(slug) / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")[:20000]
    return None


# ------------------------------------------------------------------ submissions


def team_submissions(
    *, team, benchmark: Benchmark | None = None, limit: int = 200
) -> list[Submission]:
    """A team's submissions, newest first, with their current public score."""
    qs = Submission.objects.filter(team=team)
    if benchmark is not None:
        qs = qs.filter(benchmark=benchmark)
    return _with_public_score(qs, limit)


def user_submissions(*, user, limit: int = 200) -> list[Submission]:
    """The submissions of every team of the user (one per benchmark), newest first."""
    return _with_public_score(submissions_of(user=user), limit)


def _with_public_score(qs, limit: int) -> list[Submission]:
    qs = qs.select_related("benchmark", "created_by", "team").prefetch_related(
        Prefetch(
            "scores",
            queryset=Score.objects.filter(is_current=True, split="public").only(
                "id", "submission_id", "split", "primary_value", "is_current"
            ),
            to_attr="public_scores",
        )
    )
    subs = list(qs[:limit])
    for s in subs:
        s.public_primary = s.public_scores[0].primary_value if s.public_scores else None
    return subs


# ------------------------------------------------------------------ host dashboard


@dataclass
class QueueSummary:
    counts: dict[str, int]
    items: list[Submission]
    hidden: list[Submission]
    now: datetime


def host_queue(*, benchmark: Benchmark, limit: int = 100) -> QueueSummary:
    counts = {s: 0 for s in Submission.Status.values}
    for row in (
        Submission.objects.filter(benchmark=benchmark)
        .values("status")
        .annotate(n=Count("id"))
    ):
        counts[row["status"]] = row["n"]
    items = list(
        Submission.objects.filter(
            benchmark=benchmark,
            status__in=[
                Submission.Status.QUEUED,
                Submission.Status.RUNNING,
                Submission.Status.FAILED,
            ],
        )
        .select_related("team", "created_by")
        .order_by("status", "-created_at")[:limit]
    )
    hidden = list(
        Submission.objects.filter(
            benchmark=benchmark, is_hidden=True, is_baseline=False
        )
        .select_related("team")
        .order_by("-updated_at")[:limit]
    )
    return QueueSummary(counts=counts, items=items, hidden=hidden, now=timezone.now())


def suite_members(bench: Benchmark) -> list[dict]:
    """A suite's members in its order: slug, title, kind, primary metric, and
    whether the member is published here (an unpublished one is named, not linked)."""
    slugs = bench.suite_members
    found = {b.slug: b for b in Benchmark.objects.filter(slug__in=slugs, is_published=True)}
    refs = (bench.spec or {}).get("suite", {}).get("reference", {})
    out = []
    for slug in slugs:
        member = found.get(slug)
        out.append({
            "slug": slug,
            "benchmark": member,
            "metric": refs.get(slug, {}).get("metric") or (member.primary_metric if member else ""),
        })
    return out


def reference_rows(bench: Benchmark) -> list[dict]:
    """Published reference results, each with its metric's spec so that it is shown
    like the leaderboard shows that metric (0.9723 of a percent metric: 97.23%)."""
    specs = {m.get("key"): m for m in bench.metrics}
    return [
        {**ref, "spec": specs.get(ref.get("metric"))} for ref in bench.reference_results or []
    ]
