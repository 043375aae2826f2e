"""The deadline scan: the reminders and escalations due now, once each, and the e-mail batches to send."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.template import Context, Template
from django.utils import timezone

from accounts.models import Delegation
from accounts.roles import Role
from workflow_site.roc_calendar.calendar import WorkingCalendar
from workflow_site.site_url import site_url

from .. import registry
from ..models import DEFAULT_BODY, DEFAULT_SUBJECT, Channel, Notification, ReminderRule
from .common import OPEN_STATES, setting

logger = logging.getLogger(__name__)


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


GENERIC_TEMPLATES = {"subject_template": DEFAULT_SUBJECT, "body_template": DEFAULT_BODY}


class _Renderer:
    """Compiles each rule's templates once per scan; plain text, so no HTML escaping."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], Template] = {}

    def render(
        self, rule: ReminderRule, name: str, context: dict, source: registry.DeadlineSource | None = None
    ) -> str:
        key = (rule.pk, name)
        if key not in self._cache:
            text = getattr(rule, name)
            own = getattr(source, name, "") if source is not None else ""
            if own and text.strip() == GENERIC_TEMPLATES.get(name, "").strip():
                text = own
            self._cache[key] = Template("{% load roc %}" + text)
        return self._cache[key].render(Context(context, autoescape=False)).strip()


def _display(user: dict | None) -> str:
    if not user:
        return ""
    return user["display_name"] or user["username"]


@transaction.atomic(durable=True)
def deadline_scan(*, now: datetime.datetime | None = None) -> ScanResult:
    """Create the reminders and escalations due now (once each) and name the e-mail batches to send.

    Set-based: per deadline kind a fixed number of queries, whatever the number of items.
    Durable (never inside a caller's transaction): its rows are committed when it returns, so the caller
    enqueues `result.enqueued` at once and the sends find every row they name.
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
        self.lookback = datetime.timedelta(days=setting("NOTIFICATION_LOOKBACK_DAYS", 60))
        self.site_url = site_url()
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
        subject = self.renderer.render(
            rule, "subject_template" if reminder else "escalation_subject_template", context, source
        )
        body = self.renderer.render(rule, "body_template" if reminder else "escalation_body_template", context, source)
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


@transaction.atomic(durable=True)
def outbox_sweep(*, now: datetime.datetime | None = None) -> list[list[int]]:
    """The e-mails nobody has queued (a notice whose enqueue met a broker that was down) or whose queueing was lost:
    mark them queued and name the batches to send. Durable: committed when it returns, so the caller enqueues."""
    return _claim_outbox(now or timezone.now())


def _claim_outbox(now: datetime.datetime) -> list[list[int]]:
    """E-mail rows that are due to go and not already queued (or queued long ago and lost): batch them."""
    requeue_after = datetime.timedelta(seconds=setting("NOTIFICATION_REQUEUE_AFTER_SECONDS", 3600))
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
    size = setting("NOTIFICATION_SEND_BATCH", 200)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@transaction.atomic
def reminder_rule_create(*, kind: str, name: str, **fields) -> ReminderRule:
    """Create a reminder rule (admin, or a domain app's data set-up)."""
    rule = ReminderRule(kind=kind, name=name, **fields)
    rule.full_clean()
    rule.save()
    return rule
