from rest_framework.throttling import SimpleRateThrottle

from earthbench.accounts import bruteforce


class TokenRateThrottle(SimpleRateThrottle):
    """Per API token (per user for sessions, per IP for anonymous requests)."""

    scope = "token"

    def get_ident(self, request):
        # DRF's own joins the whole X-Forwarded-For (client-written on the left);
        # ours believes it only from a trusted proxy, rightmost untrusted hop.
        return bruteforce.client_ip(request)

    def get_cache_key(self, request, view):
        token = request.auth
        if token is not None and hasattr(token, "pk"):
            ident = f"t{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SubmitRateThrottle(TokenRateThrottle):
    """A tighter bucket for writes (uploads and submissions)."""

    scope = "submit"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
