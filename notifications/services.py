"""Every write of notifications: the deadline scan, sending, digests, marking read."""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import smtplib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import Q
from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Delegation
from accounts.roles import Role
from workflow_site.errors import NotFound
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.calendar import WorkingCalendar
from workflow_site.transitions import apply_transition

from . import registry
from .models import Channel, Notification, NotificationPreference, ReminderRule

logger = logging.getLogger(__name__)
OPEN_STATES = (Notification.State.PENDING, Notification.State.RETRYING)


def _setting(name: str, default):
    return getattr(settings, name, default)


@dataclass
class ScanResult:
    created: int = 0
    enqueued: list[list[int]] = field(default_factory=list)

    @property
    def enqueued_count(self) -> int:
        return sum(len(batch) for batch in self.enqueued)


@dataclass
class _People:
    """Who is involved in one scan: names, addresses, digest choices, substitutes, heads."""

    users: dict[int, dict]
    substitutes: dict[int, list[int]]
    heads_by_agency: dict[int, list[int]]
    rdec_supervisors: list[int]


def _load_people(recipient_ids: set[int], agency_ids: set[int], today: datetime.date) -> _People:
    User = get_user_model()
    heads_by_agency: dict[int, list[int]] = defaultdict(list)
    for pk, agency_id in User.objects.filter(
        is_active=True, groups__name=Role.AGENCY_HEAD, agency_id__in=agency_ids
    ).values_list("pk", "agency_id"):
        heads_by_agency[agency_id].append(pk)
    supervisors = list(
        User.objects.filter(is_active=True, groups__name=Role.RDEC_SUPERVISOR).values_list("pk", flat=True)
    )
    principals = recipient_ids | {pk for pks in heads_by_agency.values() for pk in pks} | set(supervisors)
    substitutes: dict[int, list[int]] = defaultdict(list)
    for principal, substitute in Delegation.objects.filter(
        status=Delegation.Status.IN_FORCE, starts__lte=today, ends__gte=today, user_id__in=principals
    ).values_list("user_id", "substitute_id"):
        substitutes[principal].append(substitute)
    everyone = principals | {pk for pks in substitutes.values() for pk in pks}
    users = {
        row["pk"]: row
        for row in User.objects.filter(pk__in=everyone, is_active=True).values(
            "pk", "email", "display_name", "username", "notification_preference__daily_digest"
        )
    }
    return _People(users, substitutes, heads_by_agency, supervisors)


class _Renderer:
    """Compiles each rule's templates once per scan; plain text, so no HTML escaping."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], Template] = {}

    def render(self, rule: ReminderRule, name: str, context: dict) -> str:
        key = (rule.pk, name)
        if key not in self._cache:
            self._cache[key] = Template("{% load roc %}" + getattr(rule, name))
        return self._cache[key].render(Context(context, autoescape=False)).strip()


def _display(user: dict | None) -> str:
    if not user:
        return ""
    return user["display_name"] or user["username"]


@transaction.atomic
def deadline_scan(*, now: datetime.datetime | None = None) -> ScanResult:
    """Create the reminders and escalations due now (once each) and name the e-mail batches to send.

    Set-based: per deadline kind a fixed number of queries, whatever the number of items.
    The caller enqueues `result.enqueued` after commit (the task does this with on_commit).
    """
    now = now or timezone.now()
    rules_by_kind: dict[str, list[ReminderRule]] = defaultdict(list)
    for rule in ReminderRule.objects.filter(active=True).order_by("pk"):
        rules_by_kind[rule.kind].append(rule)
    result = ScanResult()
    scan = _Scan(now)
    new_rows: list[Notification] = []
    for kind, rules in rules_by_kind.items():
        source = registry.get(kind)
        if source is None:
            logger.warning("reminder rules name an unregistered deadline kind %s", kind)
            continue
        new_rows += scan.rows_for(source, rules)
    if new_rows:
        # ignore_conflicts: a scan running at the same moment may have inserted the same rows first.
        Notification.objects.bulk_create(new_rows, batch_size=5000, ignore_conflicts=True)
        result.created = len(new_rows)
    result.enqueued = _claim_outbox(now)
    return result


class _Scan:
    """One scan at one moment: the calendar, the templates and the date arithmetic are shared by all kinds."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.today = timezone.localdate(now)
        self.calendar = WorkingCalendar()
        self.renderer = _Renderer()
        self.lookback = datetime.timedelta(days=_setting("NOTIFICATION_LOOKBACK_DAYS", 60))
        self.site_url = _setting("SITE_URL", "").rstrip("/")
        self._fire_dates: dict[tuple[datetime.date, int], datetime.date] = {}
        self._overdue: dict[datetime.date, int] = {}
        self._left: dict[datetime.date, int] = {}

    def fires_on(self, due: datetime.date, offset: int) -> datetime.date:
        key = (due, offset)
        if key not in self._fire_dates:
            self._fire_dates[key] = self.calendar.add_working_days(due, offset) if offset else due
        return self._fire_dates[key]

    def days_overdue(self, due: datetime.date) -> int:
        if due not in self._overdue:
            self._overdue[due] = self.calendar.working_days_between(due, self.today) if due < self.today else 0
        return self._overdue[due]

    def days_left(self, due: datetime.date) -> int:
        if due not in self._left:
            self._left[due] = self.calendar.working_days_between(self.today, due) if due > self.today else 0
        return self._left[due]

    def window(self, rules: list[ReminderRule]) -> tuple[datetime.date, datetime.date]:
        """Due dates for which some moment has come: from the lookback horizon to the earliest advance notice."""
        earliest = min(min(rule.offsets) for rule in rules)
        reach = max(max(max(rule.offsets), rule.escalate_after or 0) for rule in rules)
        slack = datetime.timedelta(days=3 * max(reach, abs(earliest)) + 14)
        self.calendar.preload(self.today - self.lookback - slack, self.today + slack)
        newest = self.calendar.add_working_days(self.today, -earliest) if earliest < 0 else self.today
        oldest = min(self.calendar.add_working_days(self.today, -reach), self.today - self.lookback)
        return oldest, newest

    def moments(self, rule: ReminderRule, item: registry.DueItem, people: _People):
        """(purpose, offset, principal ids) for what this rule says about this item today."""
        fired = [o for o in rule.offsets if self.fires_on(item.due_date, o) <= self.today]
        if fired:
            # Only the latest moment that has come: a late scan never sends a stale "3 days left".
            yield Notification.Purpose.REMINDER, max(fired), item.recipient_ids
        if rule.escalate_after and self.days_overdue(item.due_date) >= rule.escalate_after:
            heads = people.rdec_supervisors if item.rdec_work else people.heads_by_agency.get(item.agency_id, [])
            yield Notification.Purpose.ESCALATION, rule.escalate_after, tuple(heads)

    def rows_for(self, source: registry.DeadlineSource, rules: list[ReminderRule]) -> list[Notification]:
        oldest, newest = self.window(rules)
        items = list(source.due_between(oldest, newest))
        if not items:
            return []
        content_type = ContentType.objects.get_for_model(source.model)
        existing = set(
            Notification.objects.filter(
                content_type=content_type, kind=source.kind, due_date__range=(oldest, newest)
            ).values_list("recipient_id", "object_id", "rule_id", "purpose", "offset", "due_date", "channel")
        )
        people = _load_people(
            {pk for item in items for pk in item.recipient_ids},
            {item.agency_id for item in items if item.agency_id},
            self.today,
        )
        rows = []
        for item in items:
            for rule in rules:
                for purpose, offset, principals in self.moments(rule, item, people):
                    for principal in principals:
                        # A substitute in force receives what the person they stand in for receives.
                        for recipient, behalf in [(principal, None)] + [
                            (s, principal) for s in people.substitutes.get(principal, ())
                        ]:
                            rows += self.notifications(
                                source, rule, item, purpose, offset, recipient, behalf, people, content_type, existing
                            )
        return rows

    def notifications(
        self, source, rule, item, purpose, offset, recipient, behalf, people, content_type, existing
    ) -> list[Notification]:
        user = people.users.get(recipient)
        if user is None:
            return []
        channels = [
            channel
            for channel in rule.channels
            if (recipient, item.object_id, rule.pk, purpose, offset, item.due_date, channel) not in existing
            and (channel != Channel.EMAIL or user["email"])
        ]
        if not channels:
            return []
        context = {
            "recipient": _display(user),
            "on_behalf_of": _display(people.users.get(behalf)) if behalf else "",
            "title": item.title,
            "kind_label": source.label,
            "due_date": item.due_date,
            "days_left": self.days_left(item.due_date),
            "days_overdue": self.days_overdue(item.due_date),
            "url": f"{self.site_url}{item.url}",
            "assignees": "、".join(_display(people.users.get(pk)) for pk in item.recipient_ids if pk in people.users),
        }
        reminder = purpose == Notification.Purpose.REMINDER
        subject = self.renderer.render(rule, "subject_template" if reminder else "escalation_subject_template", context)
        body = self.renderer.render(rule, "body_template" if reminder else "escalation_body_template", context)
        rows = []
        for channel in channels:
            existing.add((recipient, item.object_id, rule.pk, purpose, offset, item.due_date, channel))
            in_app = channel == Channel.IN_APP
            rows.append(
                Notification(
                    recipient_id=recipient,
                    on_behalf_of_id=behalf,
                    content_type=content_type,
                    object_id=item.object_id,
                    kind=source.kind,
                    item_title=item.title[:300],
                    url=item.url,
                    rule=rule,
                    purpose=purpose,
                    offset=offset,
                    due_date=item.due_date,
                    channel=channel,
                    digest=bool(not in_app and user["notification_preference__daily_digest"]),
                    # In-app notices are delivered by being stored.
                    state=Notification.State.SENT if in_app else Notification.State.PENDING,
                    sent_at=self.now if in_app else None,
                    to_address="" if in_app else user["email"],
                    subject=" ".join(subject.split())[:300],
                    body=body,
                )
            )
        return rows


def _claim_outbox(now: datetime.datetime) -> list[list[int]]:
    """E-mail rows that are due to go and not already queued (or queued long ago and lost): batch them."""
    requeue_after = datetime.timedelta(seconds=_setting("NOTIFICATION_REQUEUE_AFTER_SECONDS", 3600))
    ids = list(
        Notification.objects.filter(channel=Channel.EMAIL, digest=False, state__in=OPEN_STATES)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - requeue_after))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return []
    Notification.objects.filter(pk__in=ids).update(queued_at=now)
    size = _setting("NOTIFICATION_SEND_BATCH", 200)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    retry_at: datetime.datetime | None = None


def _backoff(attempts: int) -> datetime.timedelta:
    base = _setting("NOTIFICATION_RETRY_BASE_SECONDS", 60)
    # Capped below the broker visibility timeout, so a waiting retry is never redelivered early.
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 1800))


def _still_open(rows) -> dict[str, set[int]]:
    """Per deadline kind, which of these items still need action: one query per kind."""
    ids_by_kind: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        ids_by_kind[row.kind].add(row.object_id)
    result = {}
    for kind, ids in ids_by_kind.items():
        source = registry.get(kind)
        result[kind] = set(source.still_open(ids)) if source else set()
    return result


def _claim(notification_ids: list[int], claim: str, now: datetime.datetime) -> list[Notification]:
    """Take the batch's open rows for this send (one UPDATE), then load them (one SELECT).

    A row claimed by another send is skipped until that claim lapses; the same Celery task id, redelivered
    after its worker died, takes its rows back at once.
    """
    lease = datetime.timedelta(seconds=_setting("NOTIFICATION_CLAIM_SECONDS", 600))
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


def _mark_sent(notification: Notification, claim: str, at: datetime.datetime) -> bool:
    """pending|retrying -> sent for one row, with its TransitionLog row, in one autocommitted statement.

    The hot path of the send: on PostgreSQL a data-modifying CTE moves the row (guarded by its state and
    our claim) and logs it at once; elsewhere the ordinary transition helper does the same in a transaction.
    The transition itself is the one declared on the model (`Notification.mark_sent`).
    """
    target = Notification.mark_sent._django_fsm.get_transition(notification.state).target
    if db_connection.vendor != "postgresql":
        with transaction.atomic():
            notification.claimed_by, notification.claimed_until = "", None
            apply_transition(
                notification,
                "mark_sent",
                actor=None,
                kwargs={"at": at},
                update_fields=["attempts", "sent_at", "last_error", "next_attempt_at", "claimed_by", "claimed_until"],
            )
        return True
    quote = db_connection.ops.quote_name
    table, log_table = quote(Notification._meta.db_table), quote(TransitionLog._meta.db_table)
    sql = f"""
        WITH moved AS (
            UPDATE {table} SET state = %s, attempts = attempts + 1, sent_at = %s, last_error = '',
                next_attempt_at = NULL, claimed_by = '', claimed_until = NULL
            WHERE id = %s AND state = %s AND claimed_by = %s
            RETURNING id
        )
        INSERT INTO {log_table} (content_type_id, object_id, transition, source, target, actor_id,
            acting_for_id, reason, created_at)
        SELECT %s, id, 'mark_sent', %s, %s, NULL, NULL, '', %s FROM moved
    """
    content_type = ContentType.objects.get_for_model(Notification)
    with db_connection.cursor() as cursor:
        cursor.execute(
            sql,
            [target, at, notification.pk, notification.state, claim, content_type.pk, notification.state, target, at],
        )
        return cursor.rowcount == 1


def notifications_send(*, notification_ids: list[int], claim: str | None = None) -> SendResult:
    """Send these e-mail notifications over one SMTP connection; each row pending|retrying -> sent | retrying |
    dead | cancelled. Every sent row is committed the moment its message is accepted, so a worker killed
    mid-batch leaves every finished row finished, and its redelivered task (same `claim`) sends the rest."""
    now = timezone.now()
    claim = claim or uuid.uuid4().hex
    result = SendResult()
    rows = _claim(notification_ids, claim, now)
    if not rows:
        return result
    still_open = _still_open(rows)
    max_attempts = _setting("NOTIFICATION_MAX_ATTEMPTS", 5)
    with _commits_without_flush_wait():
        _send_rows(rows, claim, now, still_open, max_attempts, result)
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


def _send_rows(rows, claim: str, now: datetime.datetime, still_open, max_attempts: int, result: SendResult) -> None:
    connection = None
    try:
        for notification in rows:
            if notification.object_id not in still_open.get(notification.kind, ()):
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


def notifications_send_digests(*, now: datetime.datetime | None = None) -> int:
    """One e-mail per user who chose the daily digest, listing their waiting reminders; each row -> sent."""
    now = now or timezone.now()
    recipients = (
        Notification.objects.filter(channel=Channel.EMAIL, digest=True, state__in=OPEN_STATES)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for recipient_id in list(recipients):
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(recipient_id=recipient_id, channel=Channel.EMAIL, digest=True, state__in=OPEN_STATES)
                .order_by("due_date", "pk")
            )
            if not rows:
                continue
            still_open = _still_open(rows)
            live = []
            for row in rows:
                if row.object_id in still_open.get(row.kind, ()):
                    live.append(row)
                else:
                    apply_transition(row, "cancel", actor=None, reason=_("事項已辦理完成，不再提醒。"))
            if not live:
                continue
            site_url = _setting("SITE_URL", "").rstrip("/")
            from workflow_site.roc_calendar.roc import format_roc_date

            lines = [f"・{row.item_title}（期限：{format_roc_date(row.due_date)}）{site_url}{row.url}" for row in live]
            body = "\n".join(
                [
                    _("您好：以下是您今日的待辦提醒（共 %(n)d 項）：") % {"n": len(live)},
                    "",
                    *lines,
                    "",
                    _("研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）"),
                ]
            )
            EmailMessage(
                subject=_("【每日摘要】您有 %(n)d 項待辦提醒") % {"n": len(live)},
                body=body,
                to=[live[0].to_address],
                headers={"X-RDEC-Digest": str(recipient_id)},
            ).send()
            for row in live:
                apply_transition(
                    row,
                    "mark_sent",
                    actor=None,
                    reason=_("每日摘要"),
                    kwargs={"at": now},
                    update_fields=["attempts", "sent_at", "last_error", "next_attempt_at"],
                )
            sent += 1
    return sent


@transaction.atomic
def notification_mark_read(*, notification_id: int, user) -> Notification:
    """Mark one of the user's own in-app notifications as read (not a state change: delivery is done)."""
    try:
        notification = Notification.objects.select_for_update().get(
            pk=notification_id, recipient=user, channel=Channel.IN_APP
        )
    except Notification.DoesNotExist as exc:
        raise NotFound() from exc
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    """Mark all of the user's unread in-app notifications as read."""
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_preference_set(*, user, daily_digest: bool) -> NotificationPreference:
    """Choose between one e-mail per reminder and one daily digest."""
    preference, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    preference.daily_digest = daily_digest
    preference.full_clean()
    preference.save(update_fields=["daily_digest"])
    return preference


@transaction.atomic
def reminder_rule_create(*, kind: str, name: str, **fields) -> ReminderRule:
    """Create a reminder rule (admin, or a domain app's data set-up)."""
    rule = ReminderRule(kind=kind, name=name, **fields)
    rule.full_clean()
    rule.save()
    return rule
