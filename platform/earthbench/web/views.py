"""Website views: thin; rules live in services and selectors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import markdown
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from earthbench import storage
from earthbench.accounts.models import ApiToken
from earthbench.accounts.services import team_for_user, token_create, token_revoke, user_create
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards import plots
from earthbench.leaderboards.selectors import is_host, leaderboard_rows, split_visible
from earthbench.submissions import services
from earthbench.submissions.models import Submission
from earthbench.web.forms import SignupForm, SubmitForm, TokenForm


def benchmark_list(request):
    qs = Benchmark.objects.filter(is_published=True).annotate(
        n_subs=Count("submissions", filter=Q(submissions__status="scored"))
    )
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    if kind:
        qs = qs.filter(task_kind=kind)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(slug__icontains=q) | Q(summary__icontains=q))
    kinds = Benchmark.objects.filter(is_published=True).values_list("task_kind", flat=True).distinct().order_by("task_kind")
    return render(request, "web/benchmark_list.html", {"benchmarks": qs, "kinds": kinds, "kind": kind, "q": q})


def _submit_context(request, bench):
    ctx = {}
    if request.user.is_authenticated:
        ctx["quota"] = services.quota_for(team=team_for_user(user=request.user), benchmark=bench)
    return ctx


def benchmark_detail(request, slug):
    bench = get_object_or_404(Benchmark, slug=slug, is_published=True)
    split = request.GET.get("split", "public")
    if split not in ("public", "private") or not split_visible(benchmark=bench, split=split, user=request.user):
        split = "public"
    sort = request.GET.get("sort") or None
    try:
        rows = leaderboard_rows(benchmark=bench, split=split, sort=sort)
    except ValueError:
        rows = leaderboard_rows(benchmark=bench, split=split)
    ctx = {
        "plot_time": plots.score_over_time(benchmark=bench, split=split),
        "plot_pareto": plots.pareto(benchmark=bench, rows=rows) if bench.accepts_containers else None,
        "is_host": is_host(benchmark=bench, user=request.user),
        "bench": bench,
        "rows": rows,
        "split": split,
        "private_visible": split_visible(benchmark=bench, split="private", user=request.user),
        "card_html": markdown.markdown(bench.card, extensions=["fenced_code", "tables"]),
        "form": SubmitForm(),
        "has_data": storage.public_zip(bench.slug).exists(),
        **_submit_context(request, bench),
    }
    return render(request, "web/benchmark_detail.html", ctx)


def benchmark_data(request, slug):
    bench = get_object_or_404(Benchmark, slug=slug, is_published=True)
    path = storage.public_zip(bench.slug)
    if not path.exists():
        raise Http404("no public data for this benchmark yet")
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=f"{bench.slug}-public.zip", content_type="application/zip"
    )


@login_required
def benchmark_submit(request, slug):
    bench = get_object_or_404(Benchmark, slug=slug, is_published=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SubmitForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect(bench.get_absolute_url() + "#submit")
    d = form.cleaned_data
    try:
        sub, _ = services.submission_create(
            user=request.user,
            benchmark=bench,
            file=d["file"],
            filename=d["file"].name,
            kind=d["kind"],
            metadata={k: d.get(k, "") for k in services.METADATA_FIELDS},
        )
    except services.SubmissionRefused as exc:
        messages.error(request, str(exc))
        return redirect(bench.get_absolute_url() + "#submit")
    return redirect(sub.get_absolute_url())


def _own_submission(request, pk) -> Submission:
    sub = Submission.objects.select_related("benchmark", "team").filter(pk=pk).first()
    if sub is None or not request.user.is_authenticated or not (
        sub.team.memberships.filter(user=request.user).exists() or is_host(benchmark=sub.benchmark, user=request.user)
    ):
        raise Http404("no such submission")
    return sub


def _status_payload(sub: Submission, user) -> dict:
    scores = [
        {"split": sc.split, "primary_value": sc.primary_value, "metrics": sc.metrics, "ci": sc.ci,
         "evaluator_version": sc.evaluator_version}
        for sc in sub.scores.filter(is_current=True)
        if split_visible(benchmark=sub.benchmark, split=sc.split, user=user)
    ]
    return {"id": sub.pk, "status": sub.status, "error": sub.error, "finished": sub.is_finished, "scores": scores}


@login_required
def submission_detail(request, pk):
    sub = _own_submission(request, pk)
    payload = _status_payload(sub, request.user)
    visible = [sc for sc in payload["scores"]]
    plot = None
    if visible:
        first = next((sc for sc in visible if sc["split"] == "public"), visible[0])
        plot = plots.per_class_bars(metrics=first["metrics"], title=f"Per class ({first['split']})")
    return render(
        request,
        "web/submission_detail.html",
        {
            "sub": sub,
            "payload": payload,
            "events": sub.events.all(),
            "primary": sub.benchmark.primary_metric,
            "metric_specs": sub.benchmark.metrics,
            "plot_classes": plot,
            "can_select": sub.team.memberships.filter(user=request.user).exists() and sub.status == "scored",
        },
    )


@login_required
@require_POST
def submission_select_view(request, pk):
    sub = _own_submission(request, pk)
    try:
        services.submission_select(submission=sub, user=request.user, selected=request.POST.get("selected") == "1")
    except services.SubmissionRefused as exc:
        messages.error(request, str(exc))
    return redirect(request.POST.get("next") or sub.get_absolute_url())


@login_required
@require_POST
def submission_hide_view(request, pk):
    sub = _own_submission(request, pk)
    try:
        services.submission_hide(
            submission=sub, by=request.user, reason=request.POST.get("reason", ""),
            hidden=request.POST.get("hidden", "1") == "1",
        )
    except services.SubmissionRefused as exc:
        messages.error(request, str(exc))
    return redirect(request.POST.get("next") or sub.benchmark.get_absolute_url())


def plotly_js(request):
    """The plotly.js bundled with the plotly package, served locally (no CDN)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    resp = FileResponse(open(path, "rb"), content_type="application/javascript")
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


@login_required
def submission_status(request, pk):
    sub = _own_submission(request, pk)
    return JsonResponse(_status_payload(sub, request.user))


@login_required
def my_submissions(request):
    team = team_for_user(user=request.user)
    subs = Submission.objects.filter(team=team).select_related("benchmark")[:200]
    return render(request, "web/my_submissions.html", {"subs": subs, "team": team})


def signup(request):
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    else:
        form = SignupForm()
    return render(request, "registration/signup.html", {"form": form})


@login_required
def tokens(request):
    new_key = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            scopes = [s for s in ("read", "submit") if d[f"scope_{s}"]]
            if not scopes:
                messages.error(request, "choose at least one scope")
            else:
                expires = timezone.now() + timedelta(days=d["expires_in_days"]) if d["expires_in_days"] else None
                _, new_key = token_create(user=request.user, name=d["name"], scopes=scopes, expires_at=expires)
    else:
        form = TokenForm()
    return render(
        request,
        "web/tokens.html",
        {"form": form, "new_key": new_key, "tokens": ApiToken.objects.filter(user=request.user)},
    )


@login_required
@require_POST
def token_revoke_view(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("tokens")
