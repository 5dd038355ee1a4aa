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

TOKEN_SCOPES = ("read", "submit")


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
) -> tuple[ApiToken, str]:
    """Create a token; returns it and the plain key, which is never stored."""
    scopes = list(scopes or TOKEN_SCOPES)
    bad = [s for s in scopes if s not in TOKEN_SCOPES]
    if bad:
        raise ValueError(f"unknown scope {bad[0]!r} (allowed: {', '.join(TOKEN_SCOPES)})")
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
