from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from earthbench.accounts import bruteforce


class ThrottledLoginView(auth_views.LoginView):
    """Django's login, locked for a while after repeated failures per IP+username."""

    def post(self, request, *args, **kwargs):
        ident = f"{bruteforce.client_ip(request)}:{request.POST.get('username', '')[:150].lower()}"
        if bruteforce.is_locked("login", ident):
            return HttpResponse(
                "Too many failed log-in attempts. Try again later.", status=429, content_type="text/plain"
            )
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            bruteforce.reset("login", ident)
        else:
            bruteforce.record_failure("login", ident)
        return response
