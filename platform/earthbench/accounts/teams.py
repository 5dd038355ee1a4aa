"""Teams per benchmark (issue 25; rules in docs/teams.md).

- A team belongs to one benchmark. A user is in at most one team per benchmark
  (a database constraint on ``Membership(user, benchmark)``) and may be in
  different teams on different benchmarks.
- A user's personal team on a benchmark is made on their first submission there
  (``team_for``); reading pages or quotas never creates one (``team_of``).
- Creating, joining, leaving and merging happen per benchmark, until that
  benchmark's merge deadline (and never after its deadline).
- A merged team must fit the limits: its counted submissions of the UTC day,
  and its total since the benchmark opened, over the submissions of both teams
  and every member's own submissions on that benchmark (a user's submissions
  keep counting for that user wherever they go), and its final selections.
- Past submissions stay with the team that made them (leaving moves nothing);
  only a merge moves the merging team's submissions on that benchmark, and both
  teams' leaderboard entries are refreshed.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from earthbench.accounts.models import Membership, Team


class TeamError(Exception):
    """A team operation that the rules refuse; the message says why."""


# ------------------------------------------------------------------ selectors


def team_of(*, user, benchmark) -> Team | None:
    """The user's team on ``benchmark``, or None (nothing is created)."""
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    m = Membership.objects.select_related("team").filter(user=user, benchmark=benchmark).first()
    return m.team if m else None


def teams_of_user(*, user) -> list[Team]:
    """Every team of the user, one per benchmark, in benchmark order."""
    return list(
        Team.objects.filter(memberships__user=user)
        .select_related("benchmark")
        .prefetch_related("memberships__user")
        .order_by("benchmark__slug")
    )


def teams_to_copy(*, user, benchmark) -> list[Team]:
    """Named teams the user owns on other benchmarks (``team_copy`` sources)."""
    return list(
        Team.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.OWNER, is_personal=False
        )
        .exclude(benchmark=benchmark)
        .select_related("benchmark")
        .order_by("benchmark__slug")
    )


def team_members(*, team: Team) -> list[Membership]:
    return list(team.memberships.select_related("user").order_by("joined_at", "pk"))


# ------------------------------------------------------------------ services


def _new_team(*, benchmark, name: str, personal: bool) -> Team:
    """A team with ``name`` or, for a personal team whose name is taken on the
    benchmark, ``name-1``, ``name-2``..."""
    suffix = 0
    while True:
        candidate = name if not suffix else f"{name}-{suffix}"
        if not Team.objects.filter(benchmark=benchmark, name__iexact=candidate).exists():
            try:
                with transaction.atomic():
                    return Team.objects.create(
                        benchmark=benchmark,
                        name=candidate,
                        is_personal=personal,
                        join_code="" if personal else secrets.token_urlsafe(12),
                    )
            except IntegrityError:
                pass
        if not personal:
            raise TeamError(f"the team name {name!r} is taken on {benchmark.slug}")
        suffix += 1


def team_for(*, user, benchmark) -> Team:
    """The team the user competes with on ``benchmark``; their personal team of
    one is made here on first use (their first submission there)."""
    team = team_of(user=user, benchmark=benchmark)
    if team is not None:
        return team
    try:
        with transaction.atomic():
            # Usernames may be longer than a team name (150 vs 100): room for "-N".
            team = _new_team(benchmark=benchmark, name=user.get_username()[:90], personal=True)
            Membership.objects.create(
                team=team, user=user, benchmark=benchmark, role=Membership.Role.OWNER
            )
    except IntegrityError:
        # A concurrent first submission made it; use that one.
        team = team_of(user=user, benchmark=benchmark)
        if team is None:
            raise
    return team


def team_changes_open(*, benchmark, now: datetime | None = None) -> bool:
    """Whether teams on ``benchmark`` may still be joined, merged or left."""
    try:
        _check_open(benchmark, now, "change")
    except TeamError:
        return False
    return True


def _check_open(benchmark, now: datetime | None, what: str) -> None:
    now = now or timezone.now()
    if benchmark.deadline and now > benchmark.deadline:
        raise TeamError(f"{benchmark.slug} has ended; teams can no longer {what}")
    if benchmark.merge_deadline and now > benchmark.merge_deadline:
        raise TeamError(
            f"team changes on {benchmark.slug} closed at {benchmark.merge_deadline.isoformat()} "
            "(the merge deadline)"
        )


def team_create(*, user, benchmark, name: str) -> Team:
    """Name the user's personal team on ``benchmark`` (its submissions stay), or
    make a new named team there if the user has none yet."""
    name = name.strip()
    if not 2 <= len(name) <= 100:
        raise TeamError("a team name needs 2 to 100 characters")
    with transaction.atomic():
        team = team_of(user=user, benchmark=benchmark)
        if team is not None and not team.is_personal:
            raise TeamError(
                f"you are already in team {team.name!r} on {benchmark.slug}; leave it first"
            )
        taken = Team.objects.filter(benchmark=benchmark, name__iexact=name)
        if team is not None:
            taken = taken.exclude(pk=team.pk)
        if taken.exists():
            raise TeamError(f"the team name {name!r} is taken on {benchmark.slug}")
        if team is None:
            team = _new_team(benchmark=benchmark, name=name, personal=False)
            Membership.objects.create(
                team=team, user=user, benchmark=benchmark, role=Membership.Role.OWNER
            )
            return team
        team.name = name
        team.is_personal = False
        team.join_code = secrets.token_urlsafe(12)
        team.save(update_fields=["name", "is_personal", "join_code"])
    return team


def team_copy(
    *, user, benchmark, source: Team, now: datetime | None = None
) -> tuple[Team, list[str]]:
    """A team on ``benchmark`` made from the user's team ``source`` on another
    benchmark (the reusable-group convenience): same name, and the members of
    ``source`` who have no team on ``benchmark`` yet. Nothing else is touched:
    no submission changes team. Returns the team and the usernames skipped
    because they already compete there in a team of their own."""
    if source.benchmark_id == benchmark.pk:
        raise TeamError(f"{source.name!r} is already your team on {benchmark.slug}")
    if not source.memberships.filter(user=user, role=Membership.Role.OWNER).exists():
        raise TeamError(f"only the owner of {source.name!r} can make a team from it")
    _check_open(benchmark, now, "form")
    others = [m.user for m in team_members(team=source) if m.user_id != user.pk]
    with transaction.atomic():
        team = team_create(user=user, benchmark=benchmark, name=source.name)
        added = [u for u in others if team_of(user=u, benchmark=benchmark) is None]
        _lock(team)
        team_merge_check(benchmark=benchmark, teams=[team], users=[user, *added], now=now)
        for u in added:
            Membership.objects.create(
                team=team, user=u, benchmark=benchmark, role=Membership.Role.MEMBER
            )
    return team, sorted(u.get_username() for u in others if u not in added)


def team_merge_check(
    *, benchmark, teams: list[Team], users: list, now: datetime | None = None
) -> None:
    """Refuse a merge whose result would not fit the limits on ``benchmark``:
    counted submissions of the teams and of the users (made in any team there)
    today and in total, and final selections."""
    from earthbench.submissions.models import Submission
    from earthbench.submissions.quota import counting, submissions_of, utc_day_start

    now = now or timezone.now()
    # The quota's own counting rule (submissions.quota), over the merged team.
    counted = counting(submissions_of(benchmark=benchmark, teams=teams, users=users))
    today = counted.filter(created_at__gte=utc_day_start(now)).count()
    if today > benchmark.daily_quota:
        raise TeamError(
            f"the merged team would have made {today} submissions on {benchmark.slug} today, "
            f"more than the daily limit of {benchmark.daily_quota}; try again tomorrow"
        )
    days = max(1, (now - benchmark.created_at).days + 1)
    total, limit = counted.count(), benchmark.daily_quota * days
    if total > limit:
        raise TeamError(
            f"the merged team would have {total} submissions on {benchmark.slug}, more "
            f"than the {limit} allowed ({benchmark.daily_quota} a day for {days} day(s))"
        )
    selected = Submission.objects.filter(
        benchmark=benchmark, team__in=teams, is_selected=True
    ).count()
    if selected > benchmark.final_selection_count:
        raise TeamError(
            f"the merged team would have {selected} final selections on {benchmark.slug} "
            f"(limit {benchmark.final_selection_count}); deselect some first"
        )


def _lock(*teams: Team) -> None:
    Team.objects.select_for_update().filter(pk__in=sorted(t.pk for t in teams)).order_by("pk").count()


def _absorb(*, source: Team, target: Team) -> None:
    """Move every member and submission of ``source`` into ``target`` (same
    benchmark), delete ``source`` and refresh both teams' entries."""
    from earthbench.leaderboards.services import leaderboard_refresh_team
    from earthbench.submissions.models import Submission

    Submission.objects.filter(team=source, benchmark=target.benchmark).update(team=target)
    Membership.objects.filter(team=source).update(team=target, role=Membership.Role.MEMBER)
    leaderboard_refresh_team(benchmark=target.benchmark, team=source)
    leaderboard_refresh_team(benchmark=target.benchmark, team=target)
    source.delete()


def _target_by_code(*, benchmark, code: str) -> Team:
    code = (code or "").strip()
    target = (
        Team.objects.filter(benchmark=benchmark, join_code=code, is_personal=False)
        .exclude(join_code="")
        .first()
    )
    if target is None:
        raise TeamError(f"no team on {benchmark.slug} has this join code")
    return target


def team_join(*, user, benchmark, code: str, now: datetime | None = None) -> Team:
    """Join the team with ``code`` on ``benchmark``. A personal team of one
    that the user already has there merges into it (its submissions move)."""
    _check_open(benchmark, now, "join")
    target = _target_by_code(benchmark=benchmark, code=code)
    source = team_of(user=user, benchmark=benchmark)
    if source is not None and source.pk == target.pk:
        raise TeamError(f"you are already in {target.name!r}")
    if source is not None and source.memberships.count() > 1:
        raise TeamError(
            f"leave team {source.name!r} before joining another, or ask its owner to merge it"
        )
    with transaction.atomic():
        _lock(*([source, target] if source else [target]))
        members = [m.user for m in team_members(team=target)] + [user]
        team_merge_check(
            benchmark=benchmark, teams=[t for t in (source, target) if t], users=members, now=now
        )
        if source is not None:
            _absorb(source=source, target=target)
        else:
            Membership.objects.create(
                team=target, user=user, benchmark=benchmark, role=Membership.Role.MEMBER
            )
    return target


def team_merge(*, user, benchmark, code: str, now: datetime | None = None) -> Team:
    """Merge the user's whole team on ``benchmark`` (the user must own it) into
    the team with ``code``: members and that benchmark's submissions move."""
    _check_open(benchmark, now, "merge")
    target = _target_by_code(benchmark=benchmark, code=code)
    source = team_of(user=user, benchmark=benchmark)
    if source is None:
        raise TeamError(f"you have no team on {benchmark.slug}; join with the code instead")
    if source.pk == target.pk:
        raise TeamError(f"you are already in {target.name!r}")
    if not source.memberships.filter(user=user, role=Membership.Role.OWNER).exists():
        raise TeamError(f"only the owner of {source.name!r} can merge it")
    with transaction.atomic():
        _lock(source, target)
        members = [m.user for m in team_members(team=target) + team_members(team=source)]
        team_merge_check(benchmark=benchmark, teams=[source, target], users=members, now=now)
        _absorb(source=source, target=target)
    return target


def team_leave(*, user, benchmark, now: datetime | None = None) -> Team:
    """Leave a team of several on ``benchmark``; the submissions made together
    stay with it (and keep counting for their authors). The user competes
    alone again: a personal team is made on their next submission there."""
    _check_open(benchmark, now, "change")
    team = team_of(user=user, benchmark=benchmark)
    if team is None:
        raise TeamError(f"you are in no team on {benchmark.slug}")
    with transaction.atomic():
        _lock(team)
        if team.memberships.count() <= 1:
            raise TeamError("you are the only member; there is no team to leave")
        Membership.objects.filter(user=user, benchmark=benchmark).delete()
        if not team.memberships.filter(role=Membership.Role.OWNER).exists():
            first = team.memberships.order_by("joined_at", "pk").first()
            first.role = Membership.Role.OWNER
            first.save(update_fields=["role"])
    return team
