from rest_framework import authentication, exceptions

from earthbench.accounts import bruteforce
from earthbench.accounts.services import token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` (also accepts ``Bearer``)."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        # A valid token always works, even from an address that presented many
        # bogus ones (behind a proxy that address is everyone's): only the bogus
        # presenters are locked. Keys carry 256 random bits, so the lock is
        # defence in depth against guessing, never a way to lock others out.
        token = token_authenticate(key=key)
        if token is not None:
            return token.user, token
        ip = bruteforce.client_ip(request)
        if bruteforce.is_locked("token", ip):
            raise exceptions.Throttled(detail="Too many invalid tokens from this address.")
        bruteforce.record_failure("token", ip)
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")

    def authenticate_header(self, request):
        return "Token"
