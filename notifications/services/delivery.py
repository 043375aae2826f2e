"""Sending reminder e-mails: a batch over one SMTP connection, each row committed the moment it is accepted."""

from __future__ import annotations

import contextlib
import datetime
import functools
import smtplib
import uuid
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow_site.transitions import apply_transition, apply_transition_row

from ..models import Channel, Notification
from .common import OPEN_STATES, setting, still_open


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    retry_at: datetime.datetime | None = None


def _backoff(attempts: int) -> datetime.timedelta:
    base = setting("NOTIFICATION_RETRY_BASE_SECONDS", 60)
    # Capped below the broker visibility timeout, so a waiting retry is never redelivered early.
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 1800))


def _claim(notification_ids: list[int], claim: str, now: datetime.datetime) -> list[Notification]:
    """Take the batch's open rows for this send (one UPDATE), then load them (one SELECT).

    A row claimed by another send is skipped until that claim lapses; the same Celery task id, redelivered
    after its worker died, takes its rows back at once.
    """
    lease = datetime.timedelta(seconds=setting("NOTIFICATION_CLAIM_SECONDS", 600))
    Notification.objects.filter(
        pk__in=notification_ids, channel=Channel.EMAIL, digest=False, state__in=OPEN_STATES
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=claim)
    ).update(claimed_by=claim, claimed_until=now + lease)
    return list(
        Notification.objects.filter(pk__in=notification_ids, claimed_by=claim, state__in=OPEN_STATES)
        .only("pk", "kind", "object_id", "state", "attempts", "to_address", "subject", "body")
        .order_by("pk")
    )


# The attempt the UPDATE counts; one object, so its SQL is compiled once, not once a row.
_ONE_MORE_ATTEMPT = F("attempts") + 1


def _mark_sent(notification: Notification, claim: str, at: datetime.datetime) -> bool:
    """pending|retrying -> sent (`Notification.mark_sent`) for one row this send still holds, with its log row.

    The hot path of the send: on PostgreSQL one autocommitted statement (`apply_transition_row`); the UPDATE
    does what the transition method would, and gives the claim back.
    """
    return apply_transition_row(
        Notification,
        notification.pk,
        "mark_sent",
        source=notification.state,
        guard={"claimed_by": claim},
        also_set={
            "attempts": _ONE_MORE_ATTEMPT,
            "sent_at": at,
            "last_error": "",
            "next_attempt_at": None,
            "claimed_by": "",
            "claimed_until": None,
        },
        at=at,
    )


def notifications_send(*, notification_ids: list[int], claim: str | None = None) -> SendResult:
    """Send these e-mail notifications over one SMTP connection; each row pending|retrying -> sent | retrying |
    dead | cancelled. Every sent row is committed the moment its message is accepted, so a worker killed
    mid-batch leaves every finished row finished, and its redelivered task (same `claim`) sends the rest."""
    now = timezone.now()
    claim = claim or uuid.uuid4().hex
    result = SendResult()
    # Durable: the claim is committed before any message goes out, and the send never runs inside a caller's
    # transaction, which would hold every sent row uncommitted until its end (a crash would send them twice).
    with transaction.atomic(durable=True):
        rows = _claim(notification_ids, claim, now)
    if not rows:
        return result
    open_items = still_open(rows)
    max_attempts = setting("NOTIFICATION_MAX_ATTEMPTS", 5)
    with _commits_without_flush_wait():
        _send_rows(rows, claim, now, open_items, max_attempts, result)
    return result


@contextlib.contextmanager
def _commits_without_flush_wait():
    """PostgreSQL's asynchronous commit for this send's own statements (`synchronous_commit = off`).

    Each sent row is still committed alone, right after its message is accepted; only the wait for the WAL
    flush is skipped (about a millisecond a row on this disk). A killed worker loses nothing: the database
    already holds the commit. Only a crash of the database server itself within a fraction of a second
    could forget the last marks, and those rows would be sent once more after their claim lapses: a
    repeated reminder at worst, never a lost one, and never an inconsistent database.
    """
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('synchronous_commit', 'off', false)")
    try:
        yield
    finally:
        # A connection that broke during the send takes the setting with it; the send's own error is the news.
        with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _send_rows(rows, claim: str, now: datetime.datetime, open_items, max_attempts: int, result: SendResult) -> None:
    connection = None
    try:
        for notification in rows:
            if notification.object_id not in open_items.get(notification.kind, ()):
                with transaction.atomic():
                    apply_transition(notification, "cancel", actor=None, reason=_("事項已辦理完成，不再提醒。"))
                result.cancelled.append(notification.pk)
                continue
            try:
                if connection is None:
                    connection = get_connection(fail_silently=False)
                    connection.open()
                EmailMessage(
                    subject=notification.subject,
                    body=notification.body,
                    from_email=_from_header(),
                    to=[notification.to_address],
                    connection=connection,
                    headers={
                        "Message-ID": make_msgid(idstring=f"notification-{notification.pk}", domain="rdec.local"),
                        "X-RDEC-Notification": str(notification.pk),
                    },
                ).send()
            except (smtplib.SMTPException, OSError) as exc:
                _close_quietly(connection)
                connection = None
                retry_at = now + _backoff(notification.attempts + 1)
                error = f"{type(exc).__name__}: {exc}"
                with transaction.atomic():
                    # Released: the retry (a new task) claims the row again after the backoff.
                    notification.claimed_by, notification.claimed_until = "", None
                    apply_transition(
                        notification,
                        "mark_failed",
                        actor=None,
                        reason=error[:500],
                        kwargs={"error": error, "max_attempts": max_attempts, "next_attempt_at": retry_at},
                        update_fields=["attempts", "last_error", "next_attempt_at", "claimed_by", "claimed_until"],
                    )
                if notification.state == Notification.State.DEAD:
                    result.dead.append(notification.pk)
                else:
                    result.retry.append(notification.pk)
                    result.retry_at = max(filter(None, [result.retry_at, retry_at]))
                continue
            if _mark_sent(notification, claim, timezone.now()):
                result.sent.append(notification.pk)
    finally:
        _close_quietly(connection)


@functools.cache
def _from_header_for(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((str(Header(name, "utf-8")), address)) if name else address


def _from_header() -> str:
    """DEFAULT_FROM_EMAIL with its display name encoded once, not once per message."""
    return _from_header_for(settings.DEFAULT_FROM_EMAIL)


def _close_quietly(connection) -> None:
    """A broken SMTP connection may fail to close; the next row opens a new one either way."""
    if connection is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
