from functools import wraps

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from earthbench.accounts import bruteforce


def lockout_guarded(view):
    """Wrap a log-in view: after EARTHBENCH_LOGIN_MAX_FAILURES failed POSTs for one
    (client address, normalised username) the view answers 429 until the lock
    expires. Used by the site log-in and by /admin/login/ alike."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        ident = bruteforce.login_ident(request)
        if bruteforce.is_locked("login", ident):
            return HttpResponse(
                "Too many failed log-in attempts. Try again later.", status=429, content_type="text/plain"
            )
        response = view(request, *args, **kwargs)
        # Django's log-in views redirect on success and re-render the form on failure.
        if response.status_code in (301, 302, 303):
            bruteforce.reset("login", ident)
        else:
            bruteforce.record_failure("login", ident)
        return response

    return guarded


throttled_login = lockout_guarded(auth_views.LoginView.as_view())
