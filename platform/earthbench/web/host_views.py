"""Host pages: the per-benchmark dashboard (validation report, publishing, editing
with an audit trail, bundle updates and versions) and creating a benchmark from a
bundle (hosts) or a catalog YAML (staff). Rules live in benchmarks/host_services."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from benchmarks.catalog import CatalogError
from earthbench.benchmarks import host_services as hs
from earthbench.benchmarks.bundles import BundleError
from earthbench.benchmarks.hosting import (
    HostingDenied,
    can_host,
    can_manage,
    change_log,
    hosted_benchmarks,
)
from earthbench.benchmarks.layout import dataset_meta
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.selectors import is_host, leaderboard_rows
from earthbench.submissions.lifecycle import benchmark_rescore
from earthbench.web import selectors
from earthbench.web.forms import BenchmarkYamlForm
from earthbench.web.services import benchmark_create_from_yaml
from earthbench.web.views import _tab_context, card_html


def _hosted(request, slug) -> Benchmark:
    """The benchmark if the user hosts it; 404 otherwise (its existence is no secret,
    but the dashboard's is not advertised)."""
    bench = get_object_or_404(Benchmark, slug=slug)
    if not is_host(benchmark=bench, user=request.user):
        raise Http404("no such page")
    return bench


@require_safe
@login_required
def host_dashboard(request, slug):
    bench = _hosted(request, slug)
    return _dashboard(request, bench)


def _dashboard(request, bench, *, edit_error=None, edit_values=None, preview=None, status=200):
    meta = dataset_meta(bench) or {}
    values = edit_values or _edit_values(bench)
    ctx = _tab_context(
        request,
        bench,
        "host",
        can_manage=can_manage(user=request.user, benchmark=bench),
        report=meta.get("bundle_report"),
        changes=change_log(benchmark=bench, limit=100),
        edit=values,
        edit_error=edit_error,
        preview_html=card_html(preview) if preview is not None else None,
        has_daily_compute_seconds="daily_compute_seconds" in hs.editable_fields(),
        next_versions=list(bench.next_versions.all()),
        queue=selectors.host_queue(benchmark=bench),
        public_rows=leaderboard_rows(benchmark=bench, split="public", limit=200),
        private_rows=leaderboard_rows(benchmark=bench, split="private", limit=200),
    )
    return render(request, "web/bench_host.html", ctx, status=status)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _bundle_post(request, bench: Benchmark | None):
    """Create (bench None) or update from the uploaded bundle; JSON for the upload
    script, a redirect or the page with the error otherwise."""
    f = request.FILES.get("bundle")
    upload_id = request.POST.get("upload", "").strip()
    try:
        if f is None and not upload_id:
            raise BundleError("choose a bundle ZIP to upload")
        source = (hs.completed_upload_path(user=request.user, upload_id=upload_id)
                  if f is None else _named(hs.uploaded_path(f), f.name))
        with source as (path, name):
            if bench is None:
                new, report = hs.bundle_create(user=request.user, path=path, display=name)
            else:
                new, report = hs.bundle_update(user=request.user, slug=bench.slug, path=path,
                                               display=name)
    except (BundleError, HostingDenied) as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": str(exc)}, status=400)
        if bench is None:
            return render(request, "web/benchmark_new.html", {
                "form": BenchmarkYamlForm(), "bundle_error": str(exc),
                "hosted": hosted_benchmarks(user=request.user)[:50]}, status=400)
        messages.error(request, str(exc))
        return redirect(reverse("benchmark-host", args=[bench.slug]))
    verb = {"created": "created (unpublished)", "updated": "updated",
            "new_version": f"created as a new version of {report.get('previous')}"}
    messages.success(request, f"Benchmark {new.slug} {verb[report['action']]}.")
    url = reverse("benchmark-host", args=[new.slug])
    if _wants_json(request):
        return JsonResponse({"ok": True, "redirect": url})
    return redirect(url)


@contextlib.contextmanager
def _named(cm, name):
    with cm as path:
        yield path, name


def _managed(request, slug) -> Benchmark:
    bench = get_object_or_404(Benchmark, slug=slug)
    if not can_manage(user=request.user, benchmark=bench):
        raise Http404("no such page")
    return bench


def _when(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def _edit_values(bench: Benchmark) -> dict:
    limits = bench.container_limits or {}
    values = {
        "title": bench.title, "summary": bench.summary, "card": bench.card,
        "deadline": _when(bench.deadline), "merge_deadline": _when(bench.merge_deadline),
        "daily_quota": bench.daily_quota, "max_in_flight": bench.max_in_flight,
        "final_selection_count": bench.final_selection_count,
        **{f"limit_{k}": limits.get(k, "") for k in hs.LIMIT_KEYS},
    }
    values["daily_compute_seconds"] = bench.daily_compute_seconds
    return values


def _changes_from_post(post, bench) -> dict:
    """Form fields → the service's changes (only what differs from the page)."""
    changes = {}
    for name in ("title", "summary", "card", "deadline", "merge_deadline", "daily_quota",
                 "max_in_flight", "final_selection_count", "daily_compute_seconds"):
        if name in post:
            value = post[name].replace("\r\n", "\n")
            if name in ("deadline", "merge_deadline") and value and len(value) == 16:
                value += ":00+00:00"  # datetime-local inputs are UTC on this site
            changes[name] = value
    limits = {}
    for k in hs.LIMIT_KEYS:
        raw = post.get(f"limit_{k}", "").strip()
        if raw:
            try:
                limits[k] = float(raw) if "." in raw else int(raw)
            except ValueError:
                limits[k] = raw  # the service names the field
    if limits or any(f"limit_{k}" in post for k in hs.LIMIT_KEYS):
        changes["container_limits"] = limits
    return changes


@login_required
@require_POST
def host_edit(request, slug):
    bench = _managed(request, slug)
    if "preview" in request.POST:
        return _dashboard(request, bench, edit_values=request.POST.dict(),
                          preview=request.POST.get("card", ""))
    try:
        done = hs.benchmark_edit(user=request.user, benchmark=bench,
                                 changes=_changes_from_post(request.POST, bench))
    except (hs.EditError, HostingDenied) as exc:
        return _dashboard(request, bench, edit_error=str(exc), edit_values=request.POST.dict(),
                          status=400)
    messages.success(request, f"Saved: {', '.join(done)}." if done else "Nothing changed.")
    return redirect(reverse("benchmark-host", args=[bench.slug]) + "#edit-h")


@login_required
@require_POST
def host_publish(request, slug):
    bench = _managed(request, slug)
    published = request.POST.get("published") == "1"
    try:
        hs.benchmark_set_published(user=request.user, benchmark=bench, published=published)
    except (BundleError, HostingDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{bench.slug} is {'published' if published else 'unpublished'}.")
    return redirect(reverse("benchmark-host", args=[bench.slug]))


@login_required
@require_POST
def host_bundle(request, slug):
    return _bundle_post(request, _managed(request, slug))


@login_required
@require_POST
def host_rescore_previous(request, slug):
    bench = _managed(request, slug)
    try:
        n = hs.rescore_into_new_version(user=request.user, new=bench)
    except (BundleError, HostingDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{n} submission(s) of {bench.previous_version.slug} queued "
                                  f"on {bench.slug}.")
    return redirect(reverse("benchmark-host", args=[bench.slug]))


@login_required
@require_POST
def host_rescore(request, slug):
    bench = _hosted(request, slug)
    n = benchmark_rescore(benchmark=bench)
    messages.success(request, f"{n} submission(s) queued for re-scoring.")
    return redirect(reverse("benchmark-host", args=[bench.slug]))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def benchmark_new(request):
    """Hosts upload a bundle here; staff may also create from a catalog YAML."""
    if not can_host(user=request.user):
        return render(request, "web/host_forbidden.html", status=403)
    if request.method == "POST" and (
        "bundle" in request.FILES or "upload" in request.POST or not request.user.is_staff
    ):
        return _bundle_post(request, None)
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
    return render(request, "web/benchmark_new.html", {
        "form": form, "error": error, "hosted": hosted_benchmarks(user=request.user)[:50],
    })
