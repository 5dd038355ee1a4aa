"""Account pages: sign-up, settings (teams by benchmark), API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from earthbench.accounts.models import ApiToken
from earthbench.accounts.services import token_create, token_revoke, user_create
from earthbench.accounts.teams import teams_of_user
from earthbench.web.forms import SignupForm, TokenForm


def _next_url(request) -> str:
    """Where to go after sign-up: ``next`` if it stays on this site, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and ok else ""


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    next_url = _next_url(request)
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or "/")
    else:
        form = SignupForm()
    return render(
        request, "registration/signup.html", {"form": form, "next": next_url}
    )


@require_safe
@login_required
def account_settings(request):
    return render(
        request,
        "web/account.html",
        {
            "teams": teams_of_user(user=request.user),
            "n_tokens": ApiToken.objects.filter(
                user=request.user, revoked_at__isnull=True
            ).count(),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def tokens(request):
    new_key = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            scopes = [s for s in ("read", "submit", "tokens") if d[f"scope_{s}"]]
            if not scopes:
                messages.error(request, "choose at least one scope")
            else:
                days = d["expires_in_days"]
                expires = timezone.now() + timedelta(days=days) if days else None
                _, new_key = token_create(
                    user=request.user, name=d["name"], scopes=scopes, expires_at=expires
                )
    else:
        form = TokenForm()
    return render(
        request,
        "web/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
    )


@login_required
@require_POST
def token_revoke_view(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("tokens")
