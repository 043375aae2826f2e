"""API tokens and sign-outs: every write to `ApiToken` and every forced sign-out goes through here.

A token is issued per sign-in (`POST /api/v1/auth/token/`) and stops working when revoked, idle for
`API_TOKEN_IDLE_TIMEOUT` seconds or older than `API_TOKEN_MAX_AGE` seconds (then 401).
"""

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workflow_site.errors import NotFound

from .models import ApiToken, User

log = logging.getLogger(__name__)

# Writing last_used_at on every request would cost a write per call; a minute's slack is harmless.
TOUCH_EVERY = datetime.timedelta(seconds=60)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def idle_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.API_TOKEN_IDLE_TIMEOUT)


def is_expired(token: ApiToken, now: datetime.datetime | None = None) -> bool:
    now = now or timezone.now()
    return now >= token.expires_at or now >= token.last_used_at + idle_timeout()


def token_issue(*, user: User, user_agent: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its key, which is shown once and never stored. Drops every expired
    token on the way, so the table holds little more than the tokens in force."""
    now = timezone.now()
    key = secrets.token_hex(20)
    with transaction.atomic():
        _purge_expired(now)
        token = ApiToken.objects.create(
            user=user,
            key_hash=hash_key(key),
            prefix=key[:8],
            created_at=now,
            last_used_at=now,
            expires_at=now + datetime.timedelta(seconds=settings.API_TOKEN_MAX_AGE),
            user_agent=user_agent[:200],
        )
    log.info("API token %s issued to user %s", token.pk, user.pk)
    return token, key


def token_touch(token: ApiToken) -> None:
    """Records use, which keeps an idle-limited token alive."""
    now = timezone.now()
    if now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def token_list(*, user: User):
    """The user's tokens still in force, newest first."""
    now = timezone.now()
    return ApiToken.objects.filter(user=user, expires_at__gt=now, last_used_at__gt=now - idle_timeout()).order_by(
        "-created_at", "-pk"
    )


def token_revoke(*, actor: User, token_id: int) -> None:
    """Revokes one of `actor`'s own tokens; anyone else's is not found."""
    deleted, _ = ApiToken.objects.filter(user=actor, pk=token_id).delete()
    if not deleted:
        raise NotFound()
    log.info("API token %s revoked by user %s", token_id, actor.pk)


def logout_everywhere(*, user: User) -> dict[str, int]:
    """Revokes every token of `user` and ends every session signed in as `user`, this one included."""
    with transaction.atomic():
        tokens, _ = ApiToken.objects.filter(user=user).delete()
        # Sessions are stored encoded; with the idle timeout few are alive at once, so reading them is cheap.
        keys = [
            s.session_key
            for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
            if s.get_decoded().get(SESSION_KEY) == str(user.pk)
        ]
        sessions, _ = Session.objects.filter(session_key__in=keys).delete()
    log.info("User %s signed out everywhere: %s tokens, %s sessions", user.pk, tokens, sessions)
    return {"tokens": tokens, "sessions": sessions}


def _purge_expired(now: datetime.datetime) -> None:
    ApiToken.objects.filter(Q(expires_at__lte=now) | Q(last_used_at__lte=now - idle_timeout())).delete()
