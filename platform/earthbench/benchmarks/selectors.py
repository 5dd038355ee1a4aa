"""Benchmark look-ups shared by the API and the website."""

from __future__ import annotations

import difflib

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
