"""Participant pages: catalog, the benchmark tabs, submissions. Thin: rules live
in services and selectors."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import markdown
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import (
    require_http_methods,
    require_safe,
)

from earthbench import storage
from earthbench.accounts.teams import team_of
from earthbench.benchmarks import demo_progress, layout
from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.previews import read_previews
from earthbench.leaderboards import pages, plots
from earthbench.leaderboards.selectors import (
    is_host,
    leaderboard_rows,
    split_visible,
)
from earthbench.leaderboards.suites import is_suite
from earthbench.submissions import errors, intake, quota
from earthbench.web import datafiles, fragments, selectors
from earthbench.web.forms import SubmitForm

# The page shows the top rows; the CSV/JSON exports carry all of them.
LEADERBOARD_PAGE_ROWS = 200

TABS = (
    ("overview", "Overview", "benchmark"),
    ("data", "Data", "benchmark-data-tab"),
    ("leaderboard", "Leaderboard", "benchmark-leaderboard"),
    ("submit", "Submit", "benchmark-submit"),
    ("mine", "My submissions", "benchmark-mine"),
    ("team", "Team", "benchmark-team"),
)


@require_safe
def benchmark_list(request):
    filters = selectors.CatalogFilters.from_query(request.GET)
    benches, facets = selectors.catalog(filters=filters)
    return render(
        request,
        "web/benchmark_list.html",
        {
            "benchmarks": benches,
            "facets": facets,
            "f": filters,
            "links": selectors.catalog_links(filters),
            # `make demo`'s background set-up still running (baselines, downloads).
            "setup_pending": demo_progress.pending(demo_progress.read()),
            "sort_columns": [
                ("title", "Benchmark"), ("kind", "Task"), ("modality", "Modality"),
                ("sensor", "Sensor"), ("paper", "Paper"), ("entries", "Entries"),
            ],
        },
    )


# ------------------------------------------------------------------ benchmark tabs


def _published(slug: str, user=None) -> Benchmark:
    """A published benchmark; its hosts also preview it before publishing."""
    bench = get_object_or_404(Benchmark, slug=slug)
    if not bench.is_published and not is_host(benchmark=bench, user=user):
        raise Http404("no such benchmark")
    return bench


def _tab_context(request, bench: Benchmark, tab: str, **extra) -> dict:
    host = is_host(benchmark=bench, user=request.user)
    # A suite takes no submissions (its members do): no Submit or My submissions tab.
    skip = {"submit", "mine"} if bench.suite_members else set()
    tabs = [
        (key, label, reverse(name, args=[bench.slug]))
        for key, label, name in TABS
        if key not in skip
    ]
    if host:
        tabs.append(("host", "Host", reverse("benchmark-host", args=[bench.slug])))
    return {"bench": bench, "tab": tab, "tabs": tabs, "is_host": host, **extra}


def card_html(card: str) -> str:
    """The README card as HTML, without its first heading (the page has the title)."""
    body = re.sub(r"\A\s*#[^#\n][^\n]*\n", "", card, count=1)
    return markdown.markdown(body, extensions=["fenced_code", "tables"])


@require_safe
def benchmark_detail(request, slug):
    bench = _published(slug, request.user)
    spec = bench.spec or {}
    ctx = _tab_context(
        request,
        bench,
        "overview",
        card_html=card_html(bench.card),
        top_rows=leaderboard_rows(benchmark=bench, split="public", limit=5),
        references=selectors.reference_rows(bench),
        sensors=spec.get("sensors") or [],
        inputs_description=(spec.get("inputs") or {}).get("description", ""),
        licence=spec.get("licence", ""),
        citation=spec.get("citation", ""),
    )
    return render(request, "web/bench_overview.html", ctx)


def _evaluator_command(bench: Benchmark, predictions: str) -> str:
    parts = [
        "python -m evaluator score",
        f"--kind {bench.task_kind}",
        f"--predictions {shlex.quote(predictions)}",
        "--truth my_validation_truth" + Path(predictions).suffix,
    ]
    if bench.options:
        parts.append(f"--options {shlex.quote(json.dumps(bench.options))}")
    # The leaderboard's own composition: intervals from the same resamples (seed 0);
    # add --ids FILE to score a subset of ids, as the leaderboard scores a split.
    parts.append(f"--primary {bench.primary_metric}")
    parts.append(f"--bootstrap {settings.EARTHBENCH_BOOTSTRAP_RESAMPLES} --seed 0")
    return " \\\n    ".join(parts)


@require_safe
def benchmark_data_tab(request, slug):
    bench = _published(slug, request.user)
    if bench.suite_members:
        ctx = _tab_context(
            request, bench, "data", members=selectors.suite_members(bench)
        )
        return render(request, "web/bench_suite_data.html", ctx)
    sample = selectors.sample_submission_path(bench.slug)
    predictions = sample.name if sample else "predictions.csv"
    ctx = _tab_context(
        request,
        bench,
        "data",
        has_data=storage.public_zip(bench.slug).exists(),
        listing=datafiles.public_files(bench.slug),
        previews=read_previews(storage.benchmark_dir(bench.slug) / "previews"),
        sample=sample,
        sample_head=selectors.text_head(sample) if sample else None,
        readme=selectors.public_readme(bench.slug),
        inputs_description=((bench.spec or {}).get("inputs") or {}).get(
            "description", ""
        ),
        command=_evaluator_command(bench, predictions),
        prediction_cap=layout.prediction_cap_of(bench),
        options_json=json.dumps(bench.options, ensure_ascii=False)
        if bench.options
        else "",
    )
    return render(request, "web/bench_data.html", ctx)


@require_safe
def benchmark_data(request, slug):
    bench = _published(slug, request.user)
    path = storage.public_zip(bench.slug)
    if not path.exists():
        raise Http404("no public data for this benchmark yet")
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=f"{bench.slug}-public.zip",
        content_type="application/zip",
    )


_PREVIEW = re.compile(r"^(test|train)-\d+\.png$")


@require_safe
def benchmark_preview(request, slug, name):
    """A preview picture rendered at install time (see benchmarks/previews.py)."""
    bench = _published(slug, request.user)
    path = storage.benchmark_dir(bench.slug) / "previews" / name
    if not _PREVIEW.match(name) or not path.is_file():
        raise Http404("no such preview")
    return FileResponse(open(path, "rb"), content_type="image/png")


@require_safe
def benchmark_sample(request, slug):
    bench = _published(slug, request.user)
    path = selectors.sample_submission_path(bench.slug)
    if path is None:
        raise Http404("this benchmark has no sample submission")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)


@require_safe
def benchmark_leaderboard(request, slug):
    bench = _published(slug, request.user)
    # The page shows the public board when the split asked for is unknown or hidden.
    split = pages.board_split(benchmark=bench, requested=request.GET.get("split"), user=request.user, strict=False)
    private_visible = split_visible(benchmark=bench, split="private", user=request.user)
    if is_suite(bench):
        suite = pages.suite_board(benchmark=bench, split=split, user=request.user)
        ctx = _tab_context(
            request, bench, "leaderboard", suite_rows=suite.rows, split=split,
            hidden_members=suite.hidden_members,
            members=bench.spec["suite"]["members"],
            private_visible=private_visible,
            plot_suite=plots.suite_bars(rows=suite.rows),
            plot_ranks=plots.rank_blobs(benchmark=bench, rows=suite.rows, metric="IQM"),
        )
        return render(request, "web/bench_suite.html", ctx)
    board = pages.board(
        benchmark=bench, split=split, sort=request.GET.get("sort"), limit=LEADERBOARD_PAGE_ROWS, strict=False
    )
    ctx = _tab_context(
        request,
        bench,
        "leaderboard",
        rows=board.rows,
        split=split,
        sort=board.sort,
        private_visible=private_visible,
        plot_time=plots.score_over_time(benchmark=bench, split=split),
        plot_ranks=plots.rank_blobs(benchmark=bench, rows=board.rows),
        plot_pareto=plots.pareto(benchmark=bench, rows=board.rows)
        if bench.accepts_containers
        else None,
    )
    if not ctx["is_host"]:  # hosts' rows carry forms: rendered in the page
        ctx["table_html"] = fragments.leaderboard_table(bench=bench, rows=board.rows, split=split, sort=board.sort)
    return render(request, "web/bench_leaderboard.html", ctx)


def _quota(request, bench):
    if not request.user.is_authenticated:
        return None
    return quota.quota_for(team=team_of(user=request.user, benchmark=bench), benchmark=bench)


@require_http_methods(["GET", "HEAD", "POST"])
def benchmark_submit(request, slug):
    bench = _published(slug, request.user)
    if bench.suite_members and request.method != "POST":
        # Nothing to submit here: the data tab links the members.
        return redirect(reverse("benchmark-data-tab", args=[bench.slug]))
    if request.method == "POST":
        return _submit_post(request, bench)
    ctx = _tab_context(
        request,
        bench,
        "submit",
        form=SubmitForm(benchmark=bench),
        quota=_quota(request, bench),
    )
    return render(request, "web/bench_submit.html", ctx)


def _submit_post(request, bench):
    """The form POST; answers JSON to the upload script (Accept: application/json)."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    back = reverse("benchmark-submit", args=[bench.slug])

    def refuse(message: str):
        if wants_json:
            return JsonResponse({"ok": False, "error": message}, status=400)
        messages.error(request, message)
        return redirect(back)

    if not request.user.is_authenticated:
        if wants_json:
            return JsonResponse({"ok": False, "error": "log in to submit"}, status=403)
        return redirect(f"{reverse('login')}?next={back}")
    form = SubmitForm(request.POST, request.FILES, benchmark=bench)
    if not form.is_valid():
        return refuse("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    d = form.cleaned_data
    try:
        sub, _ = intake.submission_create(
            user=request.user,
            benchmark=bench,
            file=d["file"],
            filename=d["file"].name,
            kind=d["kind"],
            metadata={k: d.get(k, "") for k in intake.METADATA_FIELDS},
        )
    except errors.SubmissionRefused as exc:
        return refuse(str(exc))
    if wants_json:
        return JsonResponse(
            {"ok": True, "id": sub.pk, "redirect": sub.get_absolute_url()}
        )
    return redirect(sub.get_absolute_url())


@require_safe
def benchmark_mine(request, slug):
    bench = _published(slug, request.user)
    subs, team = [], None
    if request.user.is_authenticated:
        team = team_of(user=request.user, benchmark=bench)
        subs = selectors.team_submissions(team=team, benchmark=bench) if team else []
    ctx = _tab_context(
        request,
        bench,
        "mine",
        subs=subs,
        team=team,
        quota=_quota(request, bench),
        n_selected=sum(1 for s in subs if s.is_selected),
    )
    return render(request, "web/bench_mine.html", ctx)


@require_safe
def plotly_js(request):
    """The plotly.js bundled with the plotly package, served locally (no CDN)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    resp = FileResponse(open(path, "rb"), content_type="application/javascript")
    resp["Cache-Control"] = "public, max-age=86400"
    return resp
