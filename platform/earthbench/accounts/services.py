"""Accounts: users, personal teams, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from earthbench.accounts.models import ApiToken, Membership, Team

# Scopes a new token gets when none are asked for (from a session).
TOKEN_SCOPES = ("read", "submit")
# ``tokens``: may create and revoke tokens through the API (never by default).
ALLOWED_SCOPES = ("read", "submit", "tokens")


class TokenRefused(ValueError):
    """A token request wider than what asks for it; the message says why."""


def user_create(*, username: str, password: str, email: str = "") -> AbstractBaseUser:
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username, password=password, email=email
        )
        team_for_user(user=user)
    return user


def team_for_user(*, user: AbstractBaseUser) -> Team:
    """The team the user competes with; a personal team of one is made on demand."""
    membership = Membership.objects.select_related("team").filter(user=user).first()
    if membership:
        return membership.team
    with transaction.atomic():
        name = f"{user.get_username()}"
        suffix = 0
        while True:
            try:
                with transaction.atomic():
                    team = Team.objects.create(
                        name=name if not suffix else f"{name}-{suffix}", is_personal=True
                    )
                break
            except IntegrityError:
                suffix += 1
        Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns it and the plain key, which is never stored.

    ``parent``: the token this request authenticated with (None for a session or
    the command line). A token may only create tokens no wider than itself: it
    needs the ``tokens`` scope, the new scopes must be a subset of its own
    (default: its own), and the new token must expire no later than it does.
    """
    if parent is not None:
        if "tokens" not in parent.scopes:
            raise TokenRefused("creating tokens needs a session or a token with the 'tokens' scope")
        scopes = list(scopes or parent.scopes)
        wider = sorted(set(scopes) - set(parent.scopes))
        if wider:
            raise TokenRefused(f"a token cannot grant scope {wider[0]!r}, which it does not have")
        if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
            raise TokenRefused(
                f"the new token must expire no later than this one ({parent.expires_at.isoformat()})"
            )
    scopes = list(dict.fromkeys(scopes or TOKEN_SCOPES))
    bad = [s for s in scopes if s not in ALLOWED_SCOPES]
    if bad:
        raise TokenRefused(f"unknown scope {bad[0]!r} (allowed: {', '.join(ALLOWED_SCOPES)})")
    key = "eb_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "token",
        prefix=key[:10],
        key_hash=_hash(key),
        scopes=scopes,
        expires_at=expires_at,
    )
    return token, key


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def token_authenticate(*, key: str) -> ApiToken | None:
    """The live token for ``key``, or None (unknown, revoked or expired)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:
        return None
    # Cheap enough: one UPDATE, and only once a minute per token.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


class TeamError(Exception):
    """A team operation that the rules refuse; the message says why."""


def _member_count(team: Team) -> int:
    return Membership.objects.filter(team=team).count()


def team_create(*, user, name: str) -> Team:
    """Turn the user's personal team into a named team (submissions stay)."""
    name = name.strip()
    if not 2 <= len(name) <= 100:
        raise TeamError("a team name needs 2 to 100 characters")
    team = team_for_user(user=user)
    if not team.is_personal:
        raise TeamError(f"you are already in team {team.name!r}; leave it first")
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise TeamError(f"the team name {name!r} is taken")
    team.name = name
    team.is_personal = False
    team.join_code = secrets.token_urlsafe(12)
    team.save(update_fields=["name", "is_personal", "join_code"])
    return team


def team_merge_check(*, source: Team, target: Team, now: datetime | None = None) -> None:
    """Refuse a merge after a benchmark's merge deadline, or when the merged team
    would hold more submissions than one team could have made since the start."""
    from earthbench.benchmarks.models import Benchmark
    from earthbench.submissions.models import Submission

    now = now or timezone.now()
    benches = Benchmark.objects.filter(submissions__team__in=[source, target]).distinct()
    for bench in benches:
        if bench.merge_deadline and now > bench.merge_deadline:
            raise TeamError(
                f"team merging for {bench.slug} closed at {bench.merge_deadline.isoformat()}"
            )
        if bench.deadline and now > bench.deadline:
            raise TeamError(f"{bench.slug} has ended; teams can no longer merge")
        days = max(1, (now - bench.created_at).days + 1)
        count = Submission.objects.filter(
            benchmark=bench, team__in=[source, target], counts_against_quota=True,
            is_baseline=False,
        ).exclude(status=Submission.Status.CANCELLED).count()
        limit = bench.daily_quota * days
        if count > limit:
            raise TeamError(
                f"the merged team would have {count} submissions on {bench.slug}, more "
                f"than the {limit} allowed ({bench.daily_quota} a day for {days} day(s))"
            )
        selected = Submission.objects.filter(
            benchmark=bench, team__in=[source, target], is_selected=True
        ).count()
        if selected > bench.final_selection_count:
            raise TeamError(
                f"the merged team would have {selected} final selections on {bench.slug} "
                f"(limit {bench.final_selection_count}); deselect some first"
            )


def team_join(*, user, code: str, now: datetime | None = None) -> Team:
    """Join a team by its code: the user's personal team merges into it."""
    from earthbench.leaderboards.services import leaderboard_refresh_team
    from earthbench.submissions.models import Submission

    target = Team.objects.filter(join_code=code, is_personal=False).exclude(join_code="").first()
    if target is None:
        raise TeamError("no team has this join code")
    source = team_for_user(user=user)
    if source.pk == target.pk:
        raise TeamError(f"you are already in {target.name!r}")
    if _member_count(source) > 1 or not source.is_personal:
        raise TeamError(f"leave team {source.name!r} before joining another")
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).count()
        team_merge_check(source=source, target=target, now=now)
        benches = set(
            Submission.objects.filter(team=source).values_list("benchmark_id", flat=True)
        )
        Submission.objects.filter(team=source).update(team=target)
        Membership.objects.filter(user=user).update(team=target, role=Membership.Role.MEMBER)
        from earthbench.benchmarks.models import Benchmark

        for bench in Benchmark.objects.filter(pk__in=benches):
            leaderboard_refresh_team(benchmark=bench, team=source)
            leaderboard_refresh_team(benchmark=bench, team=target)
        source.delete()
    return target


def team_leave(*, user) -> Team:
    """Leave a team with other members: the user gets a fresh personal team;
    submissions made together stay with the team."""
    team = team_for_user(user=user)
    if _member_count(team) <= 1:
        raise TeamError("you are the only member; there is no team to leave")
    with transaction.atomic():
        Membership.objects.filter(user=user).delete()
        new = team_for_user(user=user)
        if not Membership.objects.filter(team=team, role=Membership.Role.OWNER).exists():
            first = Membership.objects.filter(team=team).order_by("joined_at").first()
            first.role = Membership.Role.OWNER
            first.save(update_fields=["role"])
    return new
