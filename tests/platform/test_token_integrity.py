"""A token can never mint a wider token (issue 16): every escalation refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from earthbench.accounts.models import ApiToken
from earthbench.accounts.services import token_create

SOON = timezone.now() + timedelta(days=1)
LATER = SOON + timedelta(days=30)

# (presenting token's scopes, its expiry, requested body, expected status)
CASES = [
    ("ci-submit-only-asks-read+submit-forever", ["submit"], SOON, {"scopes": ["read", "submit"]}, 403),
    ("ci-submit-only-asks-same", ["submit"], SOON, {"scopes": ["submit"], "expires_at": SOON}, 403),
    ("read-submit-no-tokens-scope", ["read", "submit"], None, {"scopes": ["read"]}, 403),
    ("tokens-asks-wider-scope", ["tokens", "submit"], None, {"scopes": ["submit", "read"]}, 403),
    ("tokens-asks-no-expiry-from-expiring", ["tokens", "submit"], SOON, {"scopes": ["submit"]}, 403),
    ("tokens-asks-later-expiry", ["tokens", "submit"], SOON, {"scopes": ["submit"], "expires_at": LATER}, 403),
    ("tokens-default-scopes-inherit", ["tokens", "submit"], SOON, {"expires_at": SOON}, 201),
    ("tokens-narrower-and-sooner", ["tokens", "read", "submit"], LATER, {"scopes": ["read"], "expires_at": SOON}, 201),
    ("tokens-no-expiry-parent-any-expiry", ["tokens", "read"], None, {"scopes": ["read"]}, 201),
]


@pytest.mark.parametrize("name,scopes,expires,body,expected", CASES, ids=[c[0] for c in CASES])
def test_token_creates_only_narrower_tokens(user, name, scopes, expires, body, expected):
    _, key = token_create(user=user, name="parent", scopes=scopes, expires_at=expires)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    before = ApiToken.objects.count()
    r = c.post("/api/v1/tokens/", {"name": "child", **body}, format="json")
    assert r.status_code == expected, r.content
    if expected == 403:
        assert ApiToken.objects.count() == before and r.json()["error"]["message"]
        return
    child = ApiToken.objects.get(pk=r.json()["id"])
    assert set(child.scopes) <= set(scopes)
    if expires is not None:
        assert child.expires_at is not None and child.expires_at <= expires


def test_submit_only_token_cannot_revoke_the_original(user):
    original, _ = token_create(user=user, name="original")
    _, key = token_create(user=user, name="ci", scopes=["submit"], expires_at=SOON)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert c.delete(f"/api/v1/tokens/{original.pk}/").status_code == 403
    original.refresh_from_db()
    assert original.revoked_at is None


def test_session_may_create_any_token(user):
    c = APIClient()
    c.force_login(user)
    r = c.post("/api/v1/tokens/", {"name": "admin", "scopes": ["read", "submit", "tokens"]}, format="json")
    assert r.status_code == 201 and set(r.json()["scopes"]) == {"read", "submit", "tokens"}
