"""The deadline scan: the reminders and escalations due now, once each, and the e-mail batches to send."""

from __future__ import annotations

import datetime
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from django.template import Context, Template
from django.template.base import Lexer, TokenType
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


def _among(queryset, column: str, ids: set[int]):
    """`queryset` narrowed to rows whose `column` is one of `ids`: on PostgreSQL one array parameter
    (`= ANY(%s)`), not thousands of bound values that Django resolves one by one."""
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{column}__in": ids})
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    return queryset.extra(where=[f"{table}.{connection.ops.quote_name(column)} = ANY(%s)"], params=[list(ids)])


def _load_people(recipient_ids: set[int], agency_ids: set[int], today: datetime.date) -> _People:
    User = get_user_model()
    heads_by_agency: dict[int, list[int]] = defaultdict(list)
    for pk, agency_id in _among(
        User.objects.filter(is_active=True, groups__name=Role.AGENCY_HEAD), "agency_id", agency_ids
    ).values_list("pk", "agency_id"):
        heads_by_agency[agency_id].append(pk)
    supervisors = list(
        User.objects.filter(is_active=True, groups__name=Role.RDEC_SUPERVISOR).values_list("pk", flat=True)
    )
    principals = recipient_ids | {pk for pks in heads_by_agency.values() for pk in pks} | set(supervisors)
    substitutes: dict[int, list[int]] = defaultdict(list)
    for principal, substitute in (
        _among(
            Delegation.objects.filter(status=Delegation.Status.IN_FORCE, starts__lte=today, ends__gte=today),
            "user_id",
            principals,
        )
        .order_by()
        .values_list("user_id", "substitute_id")
    ):
        substitutes[principal].append(substitute)
    everyone = principals | {pk for pks in substitutes.values() for pk in pks}
    users = {
        row["pk"]: row
        for row in _among(User.objects.filter(is_active=True), "id", everyone).values(
            "pk", "email", "display_name", "username", "notification_preference__daily_digest"
        )
    }
    return _People(users, substitutes, heads_by_agency, supervisors)


GENERIC_TEMPLATES = {"subject_template": DEFAULT_SUBJECT, "body_template": DEFAULT_BODY}

# Block tags whose output depends on nothing but the context names they mention; any other tag (include, with,
# a custom tag taking the context...) sends the template down the plain path.
_PLAIN_TAGS = frozenset({"if", "elif", "else", "endif", "load"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MARK = "\x00"
_MARKER = re.compile(r"\x00(\d+)\x00")


class _Compiled:
    """One rule's template, compiled once per scan, and rendered once per distinct *shape* of context.

    A context name the template only prints bare (`{{ title }}`, no filter, no lookup, in no tag) is a hole: its
    value is printed as `str(value)` (no escaping: plain text) and changes nothing else. So the template is
    rendered once per distinct value of the other names it mentions (the dates, the day counts, whether someone
    stands in), with a marker in each hole, and each row fills the holes with its own strings: the very text a
    render would give, at the cost of a join. A template using any other tag is rendered plainly every time.
    """

    def __init__(self, text: str) -> None:
        self.template = Template("{% load roc %}" + text)
        self.holes: tuple[str, ...] | None = None  # None: no shortcut
        self.mentioned: frozenset[str] = frozenset()
        self._shapes: dict[tuple, list[str]] = {}
        if _MARK in text:
            return
        bare: set[str] = set()
        other: set[str] = set()
        for token in Lexer(text).tokenize():
            if token.token_type == TokenType.BLOCK:
                if token.contents.split(None, 1)[0] not in _PLAIN_TAGS:
                    return
                other.update(_NAME.findall(token.contents))
            elif token.token_type == TokenType.VAR:
                contents = token.contents.strip()
                if _NAME.fullmatch(contents):
                    bare.add(contents)
                else:
                    other.update(_NAME.findall(contents))
        self.holes = tuple(sorted(bare - other))
        self.mentioned = frozenset(bare | other)

    def render(self, context: dict) -> str:
        if self.holes is None:
            return self.template.render(Context(context, autoescape=False)).strip()
        # Only strings are filled in as they are (a number is localised): any other value is part of the shape.
        holes = tuple(name for name in self.holes if isinstance(context.get(name), str))
        shape = tuple((name, value) for name, value in context.items() if name in self.mentioned and name not in holes)
        parts = self._shapes.get((holes, shape))
        if parts is None:
            if any(isinstance(value, str) and _MARK in value for _name, value in shape):
                return self.template.render(Context(context, autoescape=False)).strip()
            marked = context | {name: f"{_MARK}{i}{_MARK}" for i, name in enumerate(holes)}
            parts = _MARKER.split(self.template.render(Context(marked, autoescape=False)))
            self._shapes[(holes, shape)] = parts
        return "".join(part if i % 2 == 0 else context[holes[int(part)]] for i, part in enumerate(parts)).strip()


class _Renderer:
    """Compiles each rule's templates once per scan; plain text, so no HTML escaping."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], _Compiled] = {}

    def render(
        self, rule: ReminderRule, name: str, context: dict, source: registry.DeadlineSource | None = None
    ) -> str:
        key = (rule.pk, name)
        compiled = self._cache.get(key)
        if compiled is None:
            text = getattr(rule, name)
            own = getattr(source, name, "") if source is not None else ""
            if own and text.strip() == GENERIC_TEMPLATES.get(name, "").strip():
                text = own
            compiled = self._cache[key] = _Compiled(text)
        return compiled.render(context)


def _display(user: dict | None) -> str:
    if not user:
        return ""
    return user["display_name"] or user["username"]


# The columns a scan writes, in the order of the row tuples `_Scan.rows_for` builds.
_COLUMNS = (
    "recipient_id",
    "on_behalf_of_id",
    "content_type_id",
    "object_id",
    "kind",
    "item_title",
    "url",
    "rule_id",
    "purpose",
    "offset",
    "due_date",
    "channel",
    "digest",
    "state",
    "sent_at",
    "to_address",
    "subject",
    "body",
)
# The same for every new row: no attempt, no error, not queued, not claimed, not read.
_FRESH = {
    "attempts": 0,
    "last_error": "",
    "next_attempt_at": None,
    "queued_at": None,
    "claimed_by": "",
    "claimed_until": None,
    "read_at": None,
}


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
    new_rows: list[tuple] = []
    for kind, rules in rules_by_kind.items():
        source = registry.get(kind)
        if source is None:
            logger.warning("reminder rules name an unregistered deadline kind %s", kind)
            continue
        new_rows += scan.rows_for(source, rules)
    if new_rows:
        result.created = _insert(new_rows)
    result.enqueued = _claim_outbox(now)
    return result


def _insert(rows: list[tuple]) -> int:
    """Insert the new rows, skipping any a scan running at the same moment inserted first; returns how many.

    PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING against the
    unique key `notification_once` (no per-row parameters to bind, and no model instances); elsewhere (SQLite
    for `make run`) bulk_create(ignore_conflicts=True)."""
    created_at = timezone.now()
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [Notification(**dict(zip(_COLUMNS, row, strict=True)), **_FRESH, created_at=created_at) for row in rows],
            batch_size=2000,
            ignore_conflicts=True,
        )
        return len(rows)
    quote = connection.ops.quote_name
    table = quote(Notification._meta.db_table)
    columns = ", ".join(quote(column) for column in (*_COLUMNS, *_FRESH, "created_at"))
    fresh = [*_FRESH.values(), created_at]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE notification_scan_rows ON COMMIT DROP AS "
            f"SELECT {columns}, 0 AS ordinal FROM {table} WITH NO DATA"
        )
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        with raw.copy(f"COPY notification_scan_rows ({columns}, ordinal) FROM STDIN") as copy:
            for ordinal, row in enumerate(rows):
                copy.write_row((*row, *fresh, ordinal))
        # In the order built, as bulk_create did: the e-mail batches follow the ids.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM notification_scan_rows ORDER BY ordinal "
            "ON CONFLICT DO NOTHING"
        )
        created = cursor.rowcount
        # Dropped now, not only at commit: a test's transaction (or any caller's savepoint) may scan again.
        cursor.execute("DROP TABLE notification_scan_rows")
    return created


_KEY_COLUMNS = ("recipient_id", "object_id", "rule_id", "purpose", "offset", "due_date", "channel")


def _existing_keys(content_type: ContentType, kind: str, oldest: datetime.date, newest: datetime.date) -> set[str]:
    """The rows of this kind already made for due dates in the window, each as the text of its unique key
    (`notification_once` less the content type): "recipient object rule purpose offset YYYY-MM-DD channel".

    On PostgreSQL the database writes the texts, so 20,000 keys come back as 20,000 strings, no dates to parse."""
    rows = Notification.objects.filter(content_type=content_type, kind=kind, due_date__range=(oldest, newest))
    if connection.vendor != "postgresql":
        return {" ".join(str(value) for value in key) for key in rows.values_list(*_KEY_COLUMNS)}
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"to_char({quote(column)}, 'YYYY-MM-DD')" if column == "due_date" else quote(column) for column in _KEY_COLUMNS
    )
    return set(rows.order_by().extra(select={"key": f"concat_ws(' ', {columns})"}).values_list("key", flat=True))


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

    def moments_on(self, rule: ReminderRule, due: datetime.date) -> tuple[int | None, bool]:
        """For an item due on `due`: the latest reminder offset whose moment has come (None if none has), and
        whether the rule escalates it today. The same for every item due that day."""
        fired = [o for o in rule.offsets if self.fires_on(due, o) <= self.today]
        # Only the latest moment that has come: a late scan never sends a stale "3 days left".
        offset = max(fired) if fired else None
        return offset, bool(rule.escalate_after and self.days_overdue(due) >= rule.escalate_after)

    def rows_for(self, source: registry.DeadlineSource, rules: list[ReminderRule]) -> list[tuple]:
        """The rows (in `_COLUMNS` order) this kind's rules call for today and nobody has yet."""
        oldest, newest = self.window(rules)
        items = list(source.due_between(oldest, newest))
        if not items:
            return []
        content_type = ContentType.objects.get_for_model(source.model)
        existing = _existing_keys(content_type, source.kind, oldest, newest)
        people = _load_people(
            {pk for item in items for pk in item.recipient_ids},
            {item.agency_id for item in items if item.agency_id},
            self.today,
        )
        # Who gets a principal's notices: the principal, then each substitute in force (on the principal's behalf).
        fan_out = {
            principal: [(principal, None)] + [(s, principal) for s in people.substitutes.get(principal, ())]
            for principal in {pk for item in items for pk in item.recipient_ids}
            | {pk for pks in people.heads_by_agency.values() for pk in pks}
            | set(people.rdec_supervisors)
        }
        plans: dict[tuple[int, datetime.date], tuple[int | None, bool]] = {}
        rows: list[tuple] = []
        reminder, escalation = Notification.Purpose.REMINDER.value, Notification.Purpose.ESCALATION.value
        for item in items:
            due = item.due_date
            for rule in rules:
                plan = plans.get((rule.pk, due))
                if plan is None:
                    plan = plans[(rule.pk, due)] = self.moments_on(rule, due)
                offset, escalates = plan
                if offset is not None:
                    self._add(rows, existing, source, rule, item, reminder, offset, item.recipient_ids, fan_out, people)
                if escalates:
                    heads = (
                        people.rdec_supervisors if item.rdec_work else people.heads_by_agency.get(item.agency_id, ())
                    )
                    self._add(
                        rows, existing, source, rule, item, escalation, rule.escalate_after, heads, fan_out, people
                    )
        return rows

    def _add(self, rows, existing, source, rule, item, purpose, offset, principals, fan_out, people) -> None:
        # The key text (see `_existing_keys`) less the recipient in front and the channel at the end.
        middle = f" {item.object_id} {rule.pk} {purpose} {offset} {item.due_date} "
        users = people.users
        for principal in principals:
            # A substitute in force receives what the person they stand in for receives.
            for recipient, behalf in fan_out[principal]:
                user = users.get(recipient)
                if user is None:
                    continue
                channels = [
                    channel
                    for channel in rule.channels
                    if f"{recipient}{middle}{channel}" not in existing and (channel != Channel.EMAIL or user["email"])
                ]
                if channels:
                    rows += self.notifications(
                        source, rule, item, purpose, offset, recipient, behalf, user, channels, people, existing
                    )

    def notifications(
        self, source, rule, item, purpose, offset, recipient, behalf, user, channels, people, existing
    ) -> list[tuple]:
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
        subject = " ".join(subject.split())[:300]
        body = self.renderer.render(rule, "body_template" if reminder else "escalation_body_template", context, source)
        content_type_id = ContentType.objects.get_for_model(source.model).pk
        rows = []
        for channel in channels:
            existing.add(f"{recipient} {item.object_id} {rule.pk} {purpose} {offset} {item.due_date} {channel}")
            in_app = channel == Channel.IN_APP
            rows.append(
                (
                    recipient,
                    behalf,
                    content_type_id,
                    item.object_id,
                    source.kind,
                    item.title[:300],
                    item.url,
                    rule.pk,
                    purpose,
                    offset,
                    item.due_date,
                    channel,
                    bool(not in_app and user["notification_preference__daily_digest"]),
                    # In-app notices are delivered by being stored.
                    Notification.State.SENT if in_app else Notification.State.PENDING,
                    self.now if in_app else None,
                    "" if in_app else user["email"],
                    subject,
                    body,
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
    due = (
        Notification.objects.filter(channel=Channel.EMAIL, digest=False, state__in=OPEN_STATES)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - requeue_after))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by()
        .values("pk")
    )
    # One UPDATE ... RETURNING: no list of ids sent back to the database (10,000 of them after a big first scan).
    sql, params = due.query.sql_with_params()
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET queued_at = %s WHERE id IN ({sql}) RETURNING id",
            [connection.ops.adapt_datetimefield_value(now), *params],
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
    if not ids:
        return []
    size = setting("NOTIFICATION_SEND_BATCH", 200)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@transaction.atomic
def reminder_rule_create(*, kind: str, name: str, **fields) -> ReminderRule:
    """Create a reminder rule (admin, or a domain app's data set-up)."""
    rule = ReminderRule(kind=kind, name=name, **fields)
    rule.full_clean()
    rule.save()
    return rule
