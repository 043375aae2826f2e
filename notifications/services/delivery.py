"""Sending reminder e-mails: a batch over one SMTP connection, then the whole batch marked sent at once."""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
import smtplib
import uuid
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, BadHeaderError, sanitize_address
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow_site.transitions import apply_bulk_transition, apply_transition

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
        .only("pk", "kind", "object_id", "state", "attempts", "to_address", "subject", "body", "created_at")
        .order_by("pk")
    )


def notifications_send(*, notification_ids: list[int], claim: str | None = None) -> SendResult:
    """Send these e-mail notifications over one SMTP connection; each row pending|retrying -> sent | retrying |
    dead | cancelled.

    At least once, and once unless a worker dies mid-batch: the rows whose messages the SMTP server accepted
    are marked sent together (one transaction, one log row each) when the batch's session ends. A worker that
    dies before that commit leaves them claimed; its redelivered task (same `claim`) sends them again, each
    with the same Message-ID as the first time, so the copy is recognisable as the same message.
    """
    now = timezone.now()
    claim = claim or uuid.uuid4().hex
    result = SendResult()
    # Durable: the claim is committed before any message goes out, and the send never runs inside a caller's
    # transaction, which would hold the batch's marks uncommitted until its end.
    with transaction.atomic(durable=True):
        rows = _claim(notification_ids, claim, now)
    if not rows:
        return result
    open_items = still_open(rows)
    due = []
    for notification in rows:
        if notification.object_id in open_items.get(notification.kind, ()):
            due.append(notification)
            continue
        with transaction.atomic():
            apply_transition(notification, "cancel", actor=None, reason=_("事項已辦理完成，不再提醒。"))
        result.cancelled.append(notification.pk)
    accepted: list[Notification] = []
    try:
        _deliver(due, now, setting("NOTIFICATION_MAX_ATTEMPTS", 5), accepted, result)
    finally:
        # Also when the send breaks off (a bug, not an SMTP error): what the server accepted is recorded.
        _mark_sent(accepted, claim, result)
    return result


def _mark_sent(accepted: list[Notification], claim: str, result: SendResult) -> None:
    """pending|retrying -> sent (`Notification.mark_sent`) for the accepted rows this send still holds: per
    source state one INSERT ... SELECT of their log rows and one guarded UPDATE, which gives the claim back."""
    if not accepted:
        return
    at = timezone.now()
    held = Notification.objects.filter(
        pk__in=[notification.pk for notification in accepted], state__in=OPEN_STATES, claimed_by=claim
    )
    with transaction.atomic():
        # Rows another send took over (this one outlived its claim) are theirs now: left alone, not counted.
        pks = list(held.select_for_update().order_by("pk").values_list("pk", flat=True))
        apply_bulk_transition(
            held.filter(pk__in=pks),
            "mark_sent",
            actor=None,
            also_set={
                "attempts": F("attempts") + 1,
                "sent_at": at,
                "last_error": "",
                "next_attempt_at": None,
                "claimed_by": "",
                "claimed_until": None,
            },
        )
    result.sent.extend(pks)


def _deliver(due, now, max_attempts: int, accepted: list, result: SendResult) -> None:
    """One SMTP session for the batch (opened again after a failure); each accepted row goes into `accepted`,
    each failed one to retrying or dead at once."""
    connection = None
    try:
        for notification in due:
            try:
                if connection is None:
                    connection = get_connection(fail_silently=False)
                    connection.open()
                _send_one(connection, notification)
            except (smtplib.SMTPException, OSError) as exc:
                _close_quietly(connection)
                connection = None
                _mark_failed(notification, exc, now, max_attempts, result)
                continue
            accepted.append(notification)
    finally:
        _close_quietly(connection)


def _mark_failed(notification: Notification, exc: Exception, now, max_attempts: int, result: SendResult) -> None:
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


def message_id(notification: Notification) -> str:
    """The notification's own Message-ID, the same on every attempt: a copy sent again after a crash is
    recognisably the same message. The row's creation time (microseconds) keeps it unique across databases
    that reuse primary keys (a test or training installation writing to the same mailboxes)."""
    created = int(notification.created_at.timestamp() * 1_000_000)
    return f"<notification-{notification.pk}.{created}@{_sender()[2]}>"


def _send_one(connection, notification: Notification) -> None:
    if not isinstance(connection, SMTPBackend):
        # The tests' outbox, the console in development: Django composes the same message.
        EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=_sender()[0],
            to=[notification.to_address],
            connection=connection,
            headers={"Message-ID": message_id(notification), "X-RDEC-Notification": str(notification.pk)},
        ).send()
        return
    _from_header, envelope_from, _domain = _sender()
    recipient = _address(notification.to_address)
    connection.connection.sendmail(envelope_from, [recipient], _message_bytes(notification, recipient))


def _message_bytes(notification: Notification, recipient: str) -> bytes:
    """The message Django's EmailMessage would compose (text/plain, UTF-8, 8bit unless a line is too long),
    written directly: headers that repeat across a batch are encoded once, not once per message."""
    body = notification.body
    if any(len(line.encode()) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in body.splitlines()):
        encoding, payload = "quoted-printable", _QP.body_encode(body)
    else:
        encoding, payload = "8bit", body
    headers = (
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {encoding}",
        f"Subject: {_subject(notification.subject)}",
        f"From: {_sender()[0]}",
        f"To: {recipient}",
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
        f"Message-ID: {message_id(notification)}",
        f"X-RDEC-Notification: {notification.pk}",
    )
    return ("\r\n".join(headers) + "\r\n\r\n" + _LINE_END.sub("\r\n", payload)).encode()


_LINE_END = re.compile(r"\r\n|\r|\n")
_QP = Charset("utf-8")
_QP.body_encoding = QP


@functools.lru_cache(maxsize=1024)
def _subject(subject: str) -> str:
    if "\n" in subject or "\r" in subject:
        raise BadHeaderError(f"Header values can't contain newlines (got {subject!r} for header 'Subject')")
    charset = "us-ascii" if subject.isascii() else "utf-8"
    return Header(subject, charset, header_name="Subject").encode(linesep="\r\n")


@functools.lru_cache(maxsize=4096)
def _address(address: str) -> str:
    return sanitize_address(address, "utf-8")


@functools.cache
def _sender_for(value: str) -> tuple[str, str, str]:
    name, address = parseaddr(value)
    header = formataddr((str(Header(name, "utf-8")), address)) if name else address
    return header, sanitize_address(value, "utf-8"), address.rpartition("@")[2] or "localhost"


def _sender() -> tuple[str, str, str]:
    """DEFAULT_FROM_EMAIL as the From header (display name encoded once), as the envelope sender, and its
    domain (for Message-IDs)."""
    return _sender_for(settings.DEFAULT_FROM_EMAIL)


def _close_quietly(connection) -> None:
    """A broken SMTP connection may fail to close; the next row opens a new one either way."""
    if connection is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
