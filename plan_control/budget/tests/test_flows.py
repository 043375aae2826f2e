"""The pre-budget review's reminders through a real Celery worker on Redis and a real SMTP server on loopback.

The worker runs at the real date: the cycles' dates are set from today with the shared calendar.
"""

from __future__ import annotations

import datetime
import importlib
import time
from collections import Counter

from django.apps import apps as django_apps

from accounts.roles import Role
from notifications.models import Notification, ReminderRule
from notifications.tasks import scan_deadlines
from plan_control.budget import deadlines, services
from plan_control.budget.tests.factories import draft, make_cycle, pdf, sent
from plan_control.tests.factories import agency_people
from tests.fixtures.waiting import wait_for
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.roc_calendar.roc import format_roc_date

MIGRATION = importlib.import_module("plan_control.migrations.0010_budget_reminder_rules")
KINDS = [deadlines.REQUEST_DEADLINE, deadlines.SIGN_OFF, deadlines.MEETING, deadlines.BALANCING]


def reminder_mails(messages) -> Counter:
    """(kind, address) of each reminder e-mail received; the notices the services sent on the way are left out."""
    ids = [int(m["X-RDEC-Notification"]) for m in messages]
    kinds = dict(
        Notification.objects.filter(pk__in=ids, purpose=Notification.Purpose.REMINDER).values_list("pk", "kind")
    )
    return Counter(
        (kinds[int(m["X-RDEC-Notification"])], m["To"]) for m in messages if int(m["X-RDEC-Notification"]) in kinds
    )


def test_each_rule_mails_each_person_once_per_moment_even_when_scanned_twice(mail_worker, smtp_server, make_user):
    # transactional_db flushed the data migration's rules after an earlier test: put them back as it does.
    MIGRATION.forwards(django_apps, None)
    ReminderRule.objects.exclude(kind__in=KINDS).update(active=False)
    officer = make_user(Role.RDEC_OFFICER, agency=None, username="officer")
    reviewer = make_user(Role.REVIEWER, agency=None, username="reviewer")
    _pwb, clerk, head = agency_people("PWB")
    # This year's cycle collects until three working days from now (the requests' -5 and the sign-off's -3 moments
    # have come, not the -1); its first meeting is on the deadline.
    deadline = add_working_days(today(), 3)
    collecting = make_cycle(
        officer,
        fiscal_year=116,
        request_deadline=deadline,
        meeting_start=deadline,
        meeting_end=deadline + datetime.timedelta(days=30),
        balancing_date=deadline + datetime.timedelta(days=40),
    )
    drafted = draft(clerk, collecting, title="草稿計畫")
    waiting = draft(clerk, collecting, title="待核定計畫")
    services.request_document_add(actor=clerk, request_id=waiting.pk, upload=pdf())
    services.request_submit(actor=clerk, request_id=waiting.pk)
    on_agenda = sent(clerk, head, collecting, title="已送出計畫")
    meeting = services.meeting_create(
        actor=officer,
        cycle_id=collecting.pk,
        date=deadline,
        place="市府大樓",
        request_ids=[on_agenda.pk],
        attendee_ids=[reviewer.pk],
    )
    # Another cycle in review balances five working days from now with a decision missing.
    balancing = add_working_days(today(), 5)
    reviewing = make_cycle(
        officer,
        fiscal_year=117,
        request_deadline=today(),
        meeting_start=today(),
        meeting_end=today(),
        balancing_date=balancing,
    )
    sent(clerk, head, reviewing, title="審查中計畫")
    services.cycle_start_review(actor=officer, cycle_id=reviewing.pk)

    scan_deadlines.delay()
    wait_for(lambda: sum(reminder_mails(smtp_server.messages).values()) >= 6, message="six reminder e-mails")
    scan_deadlines.delay()
    time.sleep(2)  # room for a wrong second round to arrive

    assert reminder_mails(smtp_server.messages) == Counter(
        {
            (deadlines.REQUEST_DEADLINE, clerk.email): 1,
            (deadlines.SIGN_OFF, head.email): 1,
            (deadlines.MEETING, reviewer.email): 1,
            (deadlines.MEETING, clerk.email): 1,
            (deadlines.MEETING, head.email): 1,
            (deadlines.BALANCING, officer.email): 1,
        }
    )
    rows = Notification.objects.filter(purpose=Notification.Purpose.REMINDER, channel="email")
    assert sorted(rows.values_list("kind", "object_id", "offset")) == sorted(
        [
            (deadlines.BALANCING, reviewing.pk, -5),
            (deadlines.MEETING, meeting.pk, -3),
            (deadlines.MEETING, meeting.pk, -3),
            (deadlines.MEETING, meeting.pk, -3),
            (deadlines.REQUEST_DEADLINE, drafted.pk, -5),
            (deadlines.SIGN_OFF, waiting.pk, -3),
        ]
    )
    assert set(rows.values_list("state", flat=True)) == {"sent"}
    mail = next(m for m in smtp_server.messages if m["To"] == clerk.email and "草稿計畫" in m["Subject"])
    assert format_roc_date(deadline) in mail["Subject"]
    assert f"/plan-control/budget/requests/{drafted.pk}/" in mail.get_content()
