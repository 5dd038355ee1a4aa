"""Accounts: users and API tokens (teams: ``earthbench.accounts.teams``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from earthbench.accounts.models import ApiToken

# Scopes a new token gets when none are asked for (from a session).
TOKEN_SCOPES = ("read", "submit")
# ``tokens``: may create and revoke tokens through the API (never by default).
ALLOWED_SCOPES = ("read", "submit", "tokens")


class TokenRefused(ValueError):
    """A token request wider than what asks for it; the message says why."""


def user_create(*, username: str, password: str, email: str = "") -> AbstractBaseUser:
    # Teams are per benchmark: a personal one is made on the first submission.
    return get_user_model().objects.create_user(username=username, password=password, email=email)


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
