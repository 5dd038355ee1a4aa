"""The Team tab of a benchmark: my team there, and create / join / merge / leave
(rules in ``earthbench.accounts.teams``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from earthbench.accounts import teams
from earthbench.web.forms import TeamCreateForm, TeamJoinForm
from earthbench.web.views import _published, _tab_context


@require_safe
def benchmark_team(request, slug):
    bench = _published(slug)
    team = members = None
    sources = []
    if request.user.is_authenticated:
        team = teams.team_of(user=request.user, benchmark=bench)
        members = teams.team_members(team=team) if team else []
        sources = teams.teams_to_copy(user=request.user, benchmark=bench)
    is_owner = bool(team) and any(
        m.user_id == request.user.pk and m.role == "owner" for m in members
    )
    ctx = _tab_context(
        request,
        bench,
        "team",
        team=team,
        members=members,
        is_owner=is_owner,
        changes_closed=not teams.team_changes_open(benchmark=bench),
        copy_sources=sources,
        create_form=TeamCreateForm(),
        join_form=TeamJoinForm(),
    )
    return render(request, "web/bench_team.html", ctx)


def _action(request, slug, action, form_class=None):
    bench = _published(slug)
    back = redirect(reverse("benchmark-team", args=[bench.slug]))
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return back
    try:
        team = action(bench, **(form.cleaned_data if form else {}))
    except teams.TeamError as exc:
        messages.error(request, str(exc))
    else:
        if team is None:
            messages.success(request, f"You left your team on {bench.slug}.")
        else:
            messages.success(request, f"You are now in team {team.name} on {bench.slug}.")
    return back


@login_required
@require_POST
def team_create_view(request, slug):
    return _action(
        request, slug, lambda b, name: teams.team_create(user=request.user, benchmark=b, name=name),
        TeamCreateForm,
    )


@login_required
@require_POST
def team_join_view(request, slug):
    return _action(
        request, slug, lambda b, code: teams.team_join(user=request.user, benchmark=b, code=code),
        TeamJoinForm,
    )


@login_required
@require_POST
def team_merge_view(request, slug):
    return _action(
        request, slug, lambda b, code: teams.team_merge(user=request.user, benchmark=b, code=code),
        TeamJoinForm,
    )


@login_required
@require_POST
def team_copy_view(request, slug):
    def copy(b):
        other = teams.team_of(
            user=request.user,
            benchmark=_published(request.POST.get("from_benchmark", "")),
        )
        if other is None:
            raise teams.TeamError("you have no team on that benchmark")
        team, skipped = teams.team_copy(user=request.user, benchmark=b, source=other)
        if skipped:
            messages.warning(request, f"Not added (already in a team here): {', '.join(skipped)}.")
        return team

    return _action(request, slug, copy)


@login_required
@require_POST
def team_leave_view(request, slug):
    def leave(b):
        teams.team_leave(user=request.user, benchmark=b)

    return _action(request, slug, leave)
