"""The address people reach the site at, for the links in e-mails.

`SITE_URL` when it is set (production: the public https address; `make run`: 127.0.0.1 and the port it serves on).
Unset, a link written while a request is served points at the host and port that request came to, so a notice
sent from a page links back to where the user is; outside a request (Celery) the local default is left.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost

LOCAL_DEFAULT = "http://127.0.0.1:8000"
_request_base: ContextVar[str] = ContextVar("rdec_request_base", default="")


def site_url() -> str:
    """The site's address without a trailing slash: SITE_URL, else the current request's, else the local default."""
    configured = getattr(settings, "SITE_URL", "") or _request_base.get() or LOCAL_DEFAULT
    return configured.rstrip("/")


class SiteUrlMiddleware:
    """Remembers the serving request's scheme, host and port for `site_url()` while the request is handled."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            base = request.build_absolute_uri("/")
        except DisallowedHost:
            base = ""
        token = _request_base.set(base)
        try:
            return self.get_response(request)
        finally:
            _request_base.reset(token)
