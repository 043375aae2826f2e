"""Sign-in protection and API credentials: the django-axes hooks the settings name, expiring token authentication
and the API throttles. The policy (limits, lifetimes) is in settings/base.py and README "Security"."""

import datetime
import math

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from . import tokens
from .models import ApiToken

# --- Sign-in lockout (django-axes) ---


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the address the
    outermost trusted proxy saw (the same rule as DRF's NUM_PROXIES)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR")


def failure_limit(request, credentials) -> int:
    return settings.LOGIN_FAILURE_LIMIT


def cool_off(request=None) -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS)


class LockoutHandler(AxesDatabaseHandler):
    """axes counts failures per parameter set (AXES_LOCKOUT_PARAMETERS: username + address, then address) against
    one limit; an office behind one address needs a higher limit for the address alone. This reports
    `LOGIN_FAILURE_LIMIT` failures as soon as any set reaches its own limit, and below that the username + address
    count."""

    def get_failures(self, request, credentials=None) -> int:
        limits = (settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_IP_FAILURE_LIMIT)
        counts = [
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        if any(count >= limit for count, limit in zip(counts, limits, strict=False)):
            return settings.LOGIN_FAILURE_LIMIT
        return min(counts[0] if counts else 0, settings.LOGIN_FAILURE_LIMIT - 1)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful sign-in clears that username's failures from that address, not the whole address's: else
        an attacker holding one account could clear the address's count between guesses."""
        attempts = self.filter_user_attempts(request, credentials)[:1]
        return sum(qs.delete()[0] for qs in attempts)


def lockout_response(request, original_response=None, credentials=None):
    """429 with Retry-After: JSON `{"detail", "code", "retry_after"}` on the API, the zh-Hant page elsewhere."""
    seconds = math.ceil(cool_off(request).total_seconds())
    minutes = max(1, math.ceil(seconds / 60))
    message = _("登入失敗次數過多，已暫時鎖定。請於 %(minutes)s 分鐘後再試。") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "login_locked_out", "retry_after": seconds}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message, "minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response


# --- API tokens ---


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against `ApiToken`: revoked, idle or too old answers 401."""

    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=tokens.hash_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("權杖無效。"))
        if tokens.is_expired(token, timezone.now()):
            raise exceptions.AuthenticationFailed(_("權杖已過期，請重新登入。"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("使用者已停用。"))
        tokens.token_touch(token)
        return token.user, token


# --- API throttles ---


class _RatesNow:
    """DRF binds THROTTLE_RATES when the module loads; reading them per request lets settings (and tests) change
    them."""

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise exceptions.ImproperlyConfigured(f"No throttle rate for scope {self.scope!r}") from exc


class AnonThrottle(_RatesNow, AnonRateThrottle):
    pass


class UserThrottle(_RatesNow, UserRateThrottle):
    pass


class AuthTokenThrottle(_RatesNow, ScopedRateThrottle):
    """`POST /api/v1/auth/token/`: per address, stricter than the anonymous rate."""

    scope_attr = "throttle_scope"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
