"""The pre-budget review's deadline sources: what each reports due, what is still open, My tasks, query counts,
and the reminders a scan sends from the migration's rules (at travelled dates on the real calendar)."""

from __future__ import annotations

import datetime
import importlib

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from notifications import registry
from notifications.models import Notification, ReminderRule
from notifications.services import deadline_scan
from plan_control.budget import deadlines, services
from plan_control.budget.tests.factories import MEETING_DAY, draft, make_cycle, pdf, sent
from plan_control.models import BudgetRequest
from workflow_site.roc_calendar.calendar import add_working_days

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("plan_control.migrations.0010_budget_reminder_rules")
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))
DEADLINE = datetime.date(2026, 3, 31)  # the factories' cycle
BALANCING = datetime.date(2026, 7, 15)
WHOLE_YEAR = (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
KINDS = [deadlines.REQUEST_DEADLINE, deadlines.SIGN_OFF, deadlines.MEETING, deadlines.BALANCING]


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


def source(kind):
    return registry.get(kind)


def due(kind, start=WHOLE_YEAR[0], end=WHOLE_YEAR[1]) -> dict[int, tuple]:
    return {i.object_id: (i.due_date, set(i.recipient_ids), i.agency_id) for i in source(kind).due_between(start, end)}


def pending(clerk, cycle, **fields) -> BudgetRequest:
    request = draft(clerk, cycle, **fields)
    services.request_document_add(actor=clerk, request_id=request.pk, upload=pdf())
    return services.request_submit(actor=clerk, request_id=request.pk)


def queries(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def test_the_four_sources_are_registered_with_the_migrations_rules():
    ReminderRule.objects.filter(kind__in=KINDS).delete()
    MIGRATION.forwards(django_apps, None)
    MIGRATION.forwards(django_apps, None)  # a second run adds nothing
    rules = {r.kind: (r.offsets, r.escalate_after) for r in ReminderRule.objects.filter(kind__in=KINDS)}
    assert rules == {
        "plan_control.budget_request": ([-5, -1, 0], None),
        "plan_control.budget_sign_off": ([-3, -1, 0], None),
        "plan_control.budget_meeting": ([-3, -1], None),
        "plan_control.budget_balancing": ([-5, -1, 0, 1], 2),
    }
    assert all(source(kind) is not None for kind in KINDS)
    for rule in ReminderRule.objects.filter(kind__in=KINDS):
        rule.full_clean()  # the admin would accept them as they are


def test_drafts_and_returned_requests_remind_their_agencys_clerks_by_the_deadline(world, cycle):
    w = world
    mine = draft(w.clerk, cycle, title="草稿")
    returned = pending(w.tb_clerk, cycle, title="退回")
    services.request_return(actor=w.tb_head, request_id=returned.pk, reason="補件")
    waiting = pending(w.clerk, cycle, title="待核定")
    at_rdec = sent(w.clerk, w.head, cycle, title="已送出")
    withdrawn = draft(w.clerk, cycle, title="撤回")
    services.request_withdraw(actor=w.clerk, request_id=withdrawn.pk)
    other_clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=w.pwb, username="clerk2")

    assert due(deadlines.REQUEST_DEADLINE) == {
        mine.pk: (DEADLINE, {w.clerk.pk, other_clerk.pk}, w.pwb.pk),
        returned.pk: (DEADLINE, {w.tb_clerk.pk}, w.tb.pk),
    }
    assert due(deadlines.REQUEST_DEADLINE, DEADLINE + datetime.timedelta(days=1), WHOLE_YEAR[1]) == {}
    items = {i.object_id: i for i in source(deadlines.REQUEST_DEADLINE).due_between(*WHOLE_YEAR)}
    assert items[returned.pk].title == "退回修正：116年度先期作業計畫申請「退回」送出期限"
    assert items[mine.pk].url == f"/plan-control/budget/requests/{mine.pk}/"
    ids = [mine.pk, returned.pk, waiting.pk, at_rdec.pk, withdrawn.pk]
    assert source(deadlines.REQUEST_DEADLINE).still_open(ids) == {mine.pk, returned.pk}
    assert {i.object_id for i in source(deadlines.REQUEST_DEADLINE).for_user(w.clerk)} == {mine.pk}
    assert {i.object_id for i in source(deadlines.REQUEST_DEADLINE).for_user(w.tb_clerk)} == {returned.pk}
    for nobody in (w.head, w.officer, w.reviewer):
        assert list(source(deadlines.REQUEST_DEADLINE).for_user(nobody)) == []

    # After the deadline a draft cannot be sent (nothing to remind of); a returned request still may.
    with time_machine.travel(datetime.datetime(2026, 4, 1, 10, tzinfo=TAIPEI), tick=False):
        assert source(deadlines.REQUEST_DEADLINE).still_open(ids) == {returned.pk}
        assert list(source(deadlines.REQUEST_DEADLINE).for_user(w.clerk)) == []
    # Once the review starts nothing is at the agency any more.
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    assert due(deadlines.REQUEST_DEADLINE) == {}
    assert source(deadlines.REQUEST_DEADLINE).still_open(ids) == set()


def test_requests_waiting_for_sign_off_remind_the_agencys_heads(world, cycle):
    w = world
    waiting = pending(w.clerk, cycle, title="待核定")
    tb_waiting = pending(w.tb_clerk, cycle, title="交通局待核定")
    signed = sent(w.clerk, w.head, cycle, title="已核定")
    draft(w.clerk, cycle, title="草稿")

    assert due(deadlines.SIGN_OFF) == {
        waiting.pk: (DEADLINE, {w.head.pk}, w.pwb.pk),
        tb_waiting.pk: (DEADLINE, {w.tb_head.pk}, w.tb.pk),
    }
    assert source(deadlines.SIGN_OFF).still_open([waiting.pk, signed.pk, tb_waiting.pk]) == {waiting.pk, tb_waiting.pk}
    assert {i.object_id for i in source(deadlines.SIGN_OFF).for_user(w.head)} == {waiting.pk}
    assert list(source(deadlines.SIGN_OFF).for_user(w.clerk)) == []
    services.request_approve(actor=w.head, request_id=waiting.pk)
    assert source(deadlines.SIGN_OFF).still_open([waiting.pk]) == set()
    assert {i.object_id for i in source(deadlines.SIGN_OFF).for_user(w.head)} == set()


def test_a_scheduled_meeting_reminds_its_attendees_and_the_agencies_concerned(world, cycle):
    w = world
    road = sent(w.clerk, w.head, cycle, title="快速道路")
    meeting = services.meeting_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=MEETING_DAY,
        place="市府大樓",
        request_ids=[road.pk],
        attendee_ids=[w.reviewer.pk, w.officer.pk],
    )
    assert due(deadlines.MEETING) == {
        meeting.pk: (MEETING_DAY, {w.reviewer.pk, w.officer.pk, w.clerk.pk, w.head.pk}, None)
    }
    assert due(deadlines.MEETING, MEETING_DAY + datetime.timedelta(days=1), WHOLE_YEAR[1]) == {}
    for concerned in (w.reviewer, w.officer, w.clerk, w.head):
        assert [i.object_id for i in source(deadlines.MEETING).for_user(concerned)] == [meeting.pk]
    for stranger in (w.tb_clerk, w.tb_head, w.supervisor):
        assert list(source(deadlines.MEETING).for_user(stranger)) == []
    assert source(deadlines.MEETING).still_open([meeting.pk]) == {meeting.pk}
    # The day after, or once held, there is nothing to remind of.
    with time_machine.travel(datetime.datetime(2026, 5, 13, 10, tzinfo=TAIPEI), tick=False):
        assert source(deadlines.MEETING).still_open([meeting.pk]) == set()
    services.meeting_hold(actor=w.officer, meeting_id=meeting.pk, minutes="會議紀錄")
    assert source(deadlines.MEETING).still_open([meeting.pk]) == set()
    assert due(deadlines.MEETING) == {}


def test_the_balancing_date_reminds_the_officers_while_decisions_are_missing(world, cycle):
    w = world
    road = sent(w.clerk, w.head, cycle, title="快速道路")
    assert due(deadlines.BALANCING) == {}  # still collecting
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    assert due(deadlines.BALANCING) == {cycle.pk: (BALANCING, {w.officer.pk}, None)}
    (item,) = source(deadlines.BALANCING).due_between(*WHOLE_YEAR)
    assert item.rdec_work  # a supervisor hears of it when it escalates, not an agency head
    assert [i.object_id for i in source(deadlines.BALANCING).for_user(w.officer)] == [cycle.pk]
    for nobody in (w.supervisor, w.clerk, w.head):
        assert list(source(deadlines.BALANCING).for_user(nobody)) == []
    services.request_recommend(actor=w.officer, request_id=road.pk, amounts={"public": 60_000_000})
    services.cycle_start_balancing(actor=w.officer, cycle_id=cycle.pk)
    assert source(deadlines.BALANCING).still_open([cycle.pk]) == {cycle.pk}
    services.request_decide(actor=w.officer, request_id=road.pk, decision="approved")
    assert source(deadlines.BALANCING).still_open([cycle.pk]) == set()  # every decision made
    assert due(deadlines.BALANCING) == {}


def _many(world, cycle, n: int) -> None:
    """`n` of everything each source reports, spread over both agencies, with a meeting of `n` attendees."""
    w = world
    agenda = []
    for i in range(n):
        clerk = (w.clerk, w.tb_clerk)[i % 2]
        draft(clerk, cycle, title=f"草稿{i}")
        pending(clerk, cycle, title=f"待核定{i}")
        agenda.append(sent(clerk, (w.head, w.tb_head)[i % 2], cycle, title=f"已送出{i}").pk)
    people = [UserFactory(roles=[Role.REVIEWER], agency=None, username=f"rev{n}_{i}").pk for i in range(n)]
    for i in range(n):
        services.meeting_create(
            actor=w.officer,
            cycle_id=cycle.pk,
            date=MEETING_DAY + datetime.timedelta(days=i),
            place="會議室",
            request_ids=agenda[: i + 1],
            attendee_ids=people[: i + 1],
        )


def test_each_source_takes_the_same_queries_for_one_item_or_many(world, make_user):
    counts = {}
    for n, year in ((1, 116), (6, 117)):
        cycle = make_cycle(world.officer, fiscal_year=year)
        _many(world, cycle, n)
        counts[n] = {}
        # Balancing is measured once the cycle is reviewed (collecting, it has nothing to say).
        for kind in [*KINDS[:3], "review", KINDS[3]]:
            if kind == "review":
                services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
                continue
            s = source(kind)
            counts[n][kind] = (
                queries(lambda s=s: list(s.due_between(*WHOLE_YEAR))),
                queries(lambda s=s: list(s.for_user(world.clerk))),
                queries(lambda s=s: list(s.for_user(world.head))),
                queries(lambda s=s: list(s.for_user(world.officer))),
                queries(lambda s=s: s.still_open(list(range(1, 500)))),
            )
    assert counts[1] == counts[6]
    assert max(c for kind in KINDS for c in counts[6][kind]) <= 4


@pytest.fixture
def rules():
    """The migration's rules (a transactional test may have flushed them); the other kinds are switched off."""
    MIGRATION.forwards(django_apps, None)
    ReminderRule.objects.exclude(kind__in=KINDS).update(active=False)


def scan(day: datetime.date):
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(10), tzinfo=TAIPEI), tick=False):
        return deadline_scan()


def reminders(kind: str) -> list[tuple]:
    return sorted(
        Notification.objects.filter(kind=kind, channel="email", purpose="reminder").values_list(
            "recipient__username", "offset", "object_id"
        )
    )


def test_a_scan_reminds_once_per_rule_and_moment(rules, world, cycle):
    w = world
    mine = draft(w.clerk, cycle, title="草稿")
    waiting = pending(w.tb_clerk, cycle, title="待核定")
    five_before = add_working_days(DEADLINE, -5)
    scan(five_before - datetime.timedelta(days=1))
    assert reminders(deadlines.REQUEST_DEADLINE) == []
    scan(five_before)
    scan(five_before)  # twice: nothing more
    assert reminders(deadlines.REQUEST_DEADLINE) == [("clerk_pwb", -5, mine.pk)]
    assert reminders(deadlines.SIGN_OFF) == []  # its first moment is three working days before
    scan(add_working_days(DEADLINE, -3))
    assert reminders(deadlines.SIGN_OFF) == [("head_tb", -3, waiting.pk)]
    row = Notification.objects.get(kind=deadlines.SIGN_OFF, channel="email")
    assert "待核定：116年度先期作業計畫申請「待核定」" in row.subject
    assert row.url == f"/plan-control/budget/requests/{waiting.pk}/"
