"""How often one address may register or verify: the API and the pages share one count."""

from __future__ import annotations

from types import SimpleNamespace

from accounts.auth import AuthTokenThrottle


class RegistrationThrottle(AuthTokenThrottle):
    """Registering and verifying: per address at the sign-in rate (`auth_token`), counted apart from signing in."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "applicants", "ident": self.get_ident(request)}


def registration_allowed(request) -> bool:
    """For the pages (a plain Django request): counts this attempt against the address's allowance."""
    return RegistrationThrottle().allow_request(request, SimpleNamespace(throttle_scope="auth_token"))
