"""Benchmark look-ups shared by the API and the website."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from earthbench.benchmarks.models import Benchmark


class BenchmarkNotFound(LookupError):
    """No published benchmark has this slug; ``suggestions`` are the closest ones."""

    code = "benchmark_not_found"

    def __init__(self, slug: str, suggestions: list[str]):
        self.slug = slug
        self.suggestions = suggestions
        hint = (
            f"; did you mean {', '.join(suggestions)}?"
            if suggestions
            else "; GET /api/v1/benchmarks/ lists them"
        )
        super().__init__(f"no benchmark {slug!r} on this instance{hint}")


def closest_slugs(slug: str, *, n: int = 3) -> list[str]:
    slugs = list(Benchmark.objects.filter(is_published=True).values_list("slug", flat=True))
    return difflib.get_close_matches(slug, slugs, n=n, cutoff=0.6)


def published_benchmark(slug: str) -> Benchmark:
    """The published benchmark, or ``BenchmarkNotFound`` naming the closest slugs."""
    bench = Benchmark.objects.filter(slug=slug, is_published=True).first()
    if bench is None:
        raise BenchmarkNotFound(slug, closest_slugs(slug))
    return bench


# ------------------------------------------------------------------ catalog filter

# One meaning per filter, the same on the website (``/?kind=…``) and in the API
# (``GET /api/v1/benchmarks/?kind=…``); docs/api.md and docs/website.md say so.
CATALOG_FILTER_HELP = {
    "q": "words (separated by spaces) that all appear, ignoring case, in the title, "
         "slug, summary, task kind, paper titles or sensors",
    "kind": "the task kind, exactly (ignoring case)",
    "modality": "one of the benchmark's modalities, exactly (ignoring case)",
    "sensor": "one of the benchmark's sensors, exactly (ignoring case)",
    "paper": "part of one of the benchmark's paper titles (ignoring case)",
}


def sensors_of(bench: Benchmark) -> list[str]:
    value = (bench.spec or {}).get("sensors") or []
    return [str(s) for s in value] if isinstance(value, list) else []


def _one_of(value: str, values) -> bool:
    return value.casefold() in {str(v).casefold() for v in values}


@dataclass
class CatalogFilter:
    """The catalog's filters (``CATALOG_FILTER_HELP``); an empty value filters
    nothing and several filters all apply."""

    q: str = ""
    kind: str = ""
    modality: str = ""
    sensor: str = ""
    paper: str = ""

    @classmethod
    def from_query(cls, params) -> CatalogFilter:
        """From a query dict (``request.GET`` or DRF's ``query_params``)."""
        return cls(**{k: (params.get(k) or "").strip()[:300] for k in cls.__dataclass_fields__})

    @property
    def active(self) -> bool:
        return any(getattr(self, k) for k in CATALOG_FILTER_HELP)

    def matches(self, bench: Benchmark) -> bool:
        if self.kind and self.kind.casefold() != bench.task_kind.casefold():
            return False
        if self.modality and not _one_of(self.modality, bench.modalities or []):
            return False
        if self.sensor and not _one_of(self.sensor, sensors_of(bench)):
            return False
        if self.paper and not any(self.paper.casefold() in p.casefold() for p in bench.papers or []):
            return False
        if self.q:
            hay = " ".join(
                [bench.title, bench.slug, bench.summary, bench.task_kind, *(bench.papers or []), *sensors_of(bench)]
            ).casefold()
            return all(word in hay for word in self.q.casefold().split())
        return True


def filter_catalog(benchmarks: Iterable[Benchmark], filters: CatalogFilter) -> list[Benchmark]:
    """The benchmarks that match. The catalog holds about a hundred rows and SQLite
    cannot query inside JSON lists portably, so the filter runs here, in Python."""
    return [b for b in benchmarks if filters.matches(b)]


def catalog_queryset(filters: CatalogFilter) -> QuerySet:
    """Published benchmarks matching ``filters``, as a queryset (the API pages it)."""
    qs = Benchmark.objects.filter(is_published=True)
    if not filters.active:
        return qs
    fields = ("pk", "slug", "title", "summary", "task_kind", "modalities", "papers", "spec")
    keep = [b.pk for b in filter_catalog(qs.only(*fields), filters)]
    return qs.filter(pk__in=keep)
