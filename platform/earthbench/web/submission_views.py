"""Submission pages: a submission's detail and live status, selecting and hiding
it, and the user's submissions. Who may see one is ``submissions.selectors``
(the API asks the same)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from earthbench.leaderboards import plots
from earthbench.leaderboards.selectors import submission_standings
from earthbench.submissions import errors, selection
from earthbench.submissions.models import Submission
from earthbench.submissions.selectors import (
    SubmissionNotFound,
    is_member,
    visible_scores,
    visible_submission,
)
from earthbench.web import selectors


def _visible(request, pk) -> Submission:
    try:
        return visible_submission(pk=pk, user=request.user)
    except SubmissionNotFound:
        raise Http404("no such submission") from None


def _status_payload(sub: Submission, user) -> dict:
    scores = [
        {
            "split": sc.split,
            "primary_value": sc.primary_value,
            "metrics": sc.metrics,
            "ci": sc.ci,
            "evaluator_version": sc.evaluator_version,
        }
        for sc in visible_scores(submission=sub, user=user)
    ]
    payload = {
        "id": sub.pk,
        "status": sub.status,
        "error": sub.error,
        "finished": sub.is_finished,
        "is_selected": sub.is_selected,
        "scores": scores,
    }
    if sub.kind == Submission.Kind.CONTAINER:
        payload["log_tail"] = sub.log_tail[-4000:]
    return payload


@require_safe
@login_required
def submission_detail(request, pk):
    sub = _visible(request, pk)
    payload = _status_payload(sub, request.user)
    plot = None
    if payload["scores"]:
        scores = payload["scores"]
        first = next((sc for sc in scores if sc["split"] == "public"), scores[0])
        plot = plots.per_class_bars(
            metrics=first["metrics"], split=first["split"], kind=sub.benchmark.task_kind
        )
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
            "standings": submission_standings(
                submission=sub, splits=[sc["split"] for sc in payload["scores"]]
            )
            if sub.status == "scored"
            else [],
            "can_select": is_member(submission=sub, user=request.user)
            and sub.status == "scored",
        },
    )


def _safe_next(request, fallback: str) -> str:
    nxt = request.POST.get("next", "")
    # Only same-site paths: never redirect to another host.
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else fallback


@login_required
@require_POST
def submission_select_view(request, pk):
    sub = _visible(request, pk)
    selected = request.POST.get("selected") == "1"
    try:
        selection.submission_select(submission=sub, user=request.user, selected=selected)
    except errors.SubmissionRefused as exc:
        messages.error(request, str(exc))
    else:
        verb = "selected as final" if selected else "no longer selected"
        messages.success(request, f"Submission #{sub.pk} {verb}.")
    return redirect(_safe_next(request, sub.get_absolute_url()))


@login_required
@require_POST
def submission_hide_view(request, pk):
    sub = _visible(request, pk)
    hidden = request.POST.get("hidden", "1") == "1"
    try:
        selection.submission_hide(
            submission=sub,
            by=request.user,
            reason=request.POST.get("reason", ""),
            hidden=hidden,
        )
    except errors.SubmissionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Submission #{sub.pk} {'hidden' if hidden else 'restored'}."
        )
    return redirect(_safe_next(request, sub.benchmark.get_absolute_url()))


@require_safe
@login_required
def submission_status(request, pk):
    sub = _visible(request, pk)
    return JsonResponse(_status_payload(sub, request.user))


@require_safe
@login_required
def my_submissions(request):
    subs = selectors.user_submissions(user=request.user)
    return render(request, "web/my_submissions.html", {"subs": subs})
