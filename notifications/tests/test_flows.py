"""Reminders through a real Celery worker on Redis to a real SMTP server on loopback.

The worker runs at the real date, so due dates are computed from today with the shared calendar.
"""

import time

import pytest

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from notifications.models import Notification
from notifications.tasks import scan_deadlines
from notifications.tests.factories import ReminderRuleFactory, due_item
from tests.fixtures.waiting import wait_for
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.calendar import add_working_days, is_working_day, previous_working_day, today
from workflow_site.roc_calendar.roc import format_roc_date


@pytest.fixture
def office(make_user):
    agency = AgencyFactory(code="TB", name="交通局")
    head = make_user(Role.AGENCY_HEAD, agency=agency, display_name="局長", email="head@tb.gov.tw")
    return agency, head


def notification_ids(messages) -> list[str]:
    return sorted(m["X-RDEC-Notification"] for m in messages)


def test_due_items_yield_one_mail_per_rule_and_offset_even_when_scanned_twice(mail_worker, smtp_server, office):
    agency, head = office
    ReminderRuleFactory(channels=["email", "in_app"], escalate_after=2)
    soon_owner = head.__class__.objects.create_user("soon", email="soon@tb.gov.tw", agency=agency)
    late_owner = head.__class__.objects.create_user("late", email="late@tb.gov.tw", agency=agency)
    soon_due = add_working_days(today(), 3)
    # Two working days overdue as the scan counts them, even on a weekend (the worker runs at the real date).
    last_working_day = today() if is_working_day(today()) else previous_working_day(today())
    late_due = add_working_days(last_working_day, -2)
    due_item(owner=soon_owner, due=soon_due, reason="月報")
    due_item(owner=late_owner, due=late_due, reason="回覆")

    scan_deadlines.delay()
    wait_for(lambda: len(smtp_server.messages) >= 3, message="three e-mails")
    scan_deadlines.delay()
    time.sleep(2)  # room for a wrong second round to arrive

    messages = smtp_server.messages
    by_recipient = {m["To"]: m for m in messages}
    assert sorted(by_recipient) == ["head@tb.gov.tw", "late@tb.gov.tw", "soon@tb.gov.tw"]
    assert len(messages) == 3
    assert format_roc_date(soon_due) in by_recipient["soon@tb.gov.tw"]["Subject"]
    assert "已逾期 2 個工作天" in by_recipient["head@tb.gov.tw"]["Subject"]
    assert "承辦人：late" in by_recipient["head@tb.gov.tw"].get_content()
    assert Notification.objects.filter(channel="in_app").count() == 3
    assert set(Notification.objects.filter(channel="email").values_list("state", flat=True)) == {"sent"}


def test_a_worker_killed_in_the_middle_of_a_send_loses_nothing_and_repeats_only_under_the_same_message_id(
    mail_worker, smtp_server, office
):
    """The batch is marked sent once its SMTP session ends: a worker killed inside it has had two messages
    accepted and nothing marked. The redelivered task sends the whole batch: every recipient gets theirs, the two
    repeated copies carry the Message-ID of their first (a mail store sees one message each), and each row is
    sent once in the database."""
    agency, head = office
    ReminderRuleFactory(channels=["email"], escalate_after=None)
    due = add_working_days(today(), 3)
    for n in range(5):
        owner = head.__class__.objects.create_user(f"clerk{n}", email=f"clerk{n}@tb.gov.tw", agency=agency)
        due_item(owner=owner, due=due, reason=f"第{n}號")
    smtp_server.hold_rcpt(3)  # the third message of the batch is caught mid-session

    scan_deadlines.delay()
    assert smtp_server.handler.held.wait(30), "the send never reached the third message"
    first_copies = smtp_server.messages
    assert len(first_copies) == 2
    mail_worker.kill()  # SIGKILL, pool included: the batch task was never acknowledged
    smtp_server.release_hold()
    mail_worker.start()

    wait_for(lambda: len(smtp_server.messages) >= 7, seconds=45, message="the redelivered batch")
    time.sleep(2)
    messages = smtp_server.messages
    assert len(messages) == 7
    by_message_id = {}
    for message in messages:
        by_message_id.setdefault(message["Message-ID"], []).append(message)
    assert len(by_message_id) == 5
    assert sorted(m["To"] for m in (copies[0] for copies in by_message_id.values())) == [
        f"clerk{n}@tb.gov.tw" for n in range(5)
    ]
    repeated = {mid for mid, copies in by_message_id.items() if len(copies) == 2}
    assert repeated == {m["Message-ID"] for m in first_copies}
    assert all(len({m["X-RDEC-Notification"] for m in copies}) == 1 for copies in by_message_id.values())
    assert set(Notification.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert TransitionLog.objects.filter(transition="mark_sent").count() == 5


def test_smtp_down_then_back_retries_and_delivers_once(mail_worker, smtp_server, office):
    agency, _head = office
    ReminderRuleFactory(channels=["email"], escalate_after=None)
    owner = _head.__class__.objects.create_user("owner", email="owner@tb.gov.tw", agency=agency)
    due_item(owner=owner, due=add_working_days(today(), 3))
    smtp_server.stop()

    scan_deadlines.delay()
    wait_for(
        lambda: Notification.objects.filter(state="retrying", attempts__gte=1).exists(), message="a failed attempt"
    )
    smtp_server.start()
    wait_for(lambda: len(smtp_server.messages) == 1, message="delivery once the server is back")
    time.sleep(1.5)
    assert len(smtp_server.messages) == 1
    row = Notification.objects.get()
    assert row.state == "sent"
    assert row.attempts >= 2
    assert row.last_error == ""
    assert TransitionLog.objects.filter(object_id=row.pk, target="retrying").exists()


def test_after_the_last_attempt_the_row_is_dead_with_the_error(mail_worker, smtp_server, office):
    agency, _head = office
    ReminderRuleFactory(channels=["email"], escalate_after=None)
    owner = _head.__class__.objects.create_user("owner", email="owner@tb.gov.tw", agency=agency)
    due_item(owner=owner, due=add_working_days(today(), 3))
    smtp_server.stop()

    scan_deadlines.delay()
    wait_for(lambda: Notification.objects.filter(state="dead").exists(), message="the row to die")
    row = Notification.objects.get()
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error
    assert list(
        TransitionLog.objects.filter(object_id=row.pk, content_type__model="notification")
        .order_by("pk")
        .values_list("source", "target")
    ) == [("pending", "retrying"), ("retrying", "retrying"), ("retrying", "dead")]
