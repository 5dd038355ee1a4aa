"""Host pages: the per-benchmark dashboard and creating a benchmark from YAML."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from benchmarks.catalog import CatalogError
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.selectors import is_host, leaderboard_rows
from earthbench.submissions.services import benchmark_rescore
from earthbench.web import selectors
from earthbench.web.forms import BenchmarkYamlForm
from earthbench.web.services import benchmark_create_from_yaml
from earthbench.web.views import _tab_context


def _hosted(request, slug) -> Benchmark:
    """The benchmark if the user hosts it; 404 otherwise (its existence is no secret,
    but the dashboard's is not advertised)."""
    bench = get_object_or_404(Benchmark, slug=slug)
    if not is_host(benchmark=bench, user=request.user):
        raise Http404("no such page")
    return bench


@login_required
def host_dashboard(request, slug):
    bench = _hosted(request, slug)
    ctx = _tab_context(
        request,
        bench,
        "host",
        queue=selectors.host_queue(benchmark=bench),
        public_rows=leaderboard_rows(benchmark=bench, split="public", limit=200),
        private_rows=leaderboard_rows(benchmark=bench, split="private", limit=200),
    )
    return render(request, "web/bench_host.html", ctx)


@login_required
@require_POST
def host_rescore(request, slug):
    bench = _hosted(request, slug)
    n = benchmark_rescore(benchmark=bench)
    messages.success(request, f"{n} submission(s) queued for re-scoring.")
    return redirect(reverse("benchmark-host", args=[bench.slug]))


@login_required
def benchmark_new(request):
    if not request.user.is_staff:
        raise Http404("no such page")
    error = None
    form = BenchmarkYamlForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            bench, demo_error = benchmark_create_from_yaml(
                content=form.cleaned_data["file"].read()
            )
        except CatalogError as exc:
            error = str(exc)
        else:
            if demo_error:
                messages.warning(
                    request,
                    f"Benchmark created, but its demo data failed: {demo_error}",
                )
            else:
                messages.success(request, f"Benchmark {bench.slug} created.")
            return redirect(bench.get_absolute_url())
    return render(request, "web/benchmark_new.html", {"form": form, "error": error})
