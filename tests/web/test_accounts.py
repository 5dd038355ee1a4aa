"""Sign-up keeps its ``next`` target; Django's password reset works end to end."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail

SUBMIT = "/benchmarks/eurosat-classification-v1/submit/"


def test_signup_keeps_next_from_the_login_page(client, transactional_db):
    login = client.get(f"/accounts/login/?next={SUBMIT}").content.decode()
    assert f'href="/accounts/signup/?next={SUBMIT}"' in login
    page = client.get(f"/accounts/signup/?next={SUBMIT}").content.decode()
    assert f'name="next" value="{SUBMIT}"' in page
    r = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "email": "n@example.org", "password1": "a-Long-pass-123",
         "password2": "a-Long-pass-123", "next": SUBMIT},
    )
    assert r.status_code == 302 and r["Location"] == SUBMIT
    assert get_user_model().objects.filter(username="newcomer").exists()


def test_signup_ignores_an_offsite_next(client, transactional_db):
    r = client.post(
        "/accounts/signup/",
        {"username": "n2", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123",
         "next": "https://evil.example/"},
    )
    assert r.status_code == 302 and r["Location"] == "/"


def test_password_reset_sends_a_link_that_sets_a_new_password(client, transactional_db):
    user = get_user_model().objects.create_user("forgetful", "f@example.org", "old-Pass-123x")
    assert "/accounts/password-reset/" in client.get("/accounts/login/").content.decode()
    r = client.post("/accounts/password-reset/", {"email": "f@example.org"})
    assert r.status_code == 302 and r["Location"] == "/accounts/password-reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["f@example.org"] and "forgetful" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    r = client.post(form.redirect_chain[-1][0], {
        "new_password1": "new-Pass-456y", "new_password2": "new-Pass-456y"})
    assert r.status_code == 302 and r["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password("new-Pass-456y")
    # The link works once.
    assert b"invalid or was already used" in client.get(link, follow=True).content
