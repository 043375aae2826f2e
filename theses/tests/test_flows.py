"""The thesis process's background work through a real Celery worker on Redis (and a real SMTP server on loopback).

The worker runs at the real date: deadlines are set from today with the shared calendar, and a call "decided long
ago" is one whose decision time the test moves back after deciding it through the services.
"""

import datetime
import importlib
import os
import time

from django.apps import apps as django_apps
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from notifications.models import Notification, ReminderRule
from notifications.tasks import scan_deadlines
from tests.fixtures.waiting import wait_for
from theses import services
from theses.models import ThesisApplication, ThesisCall, ThesisDocument
from theses.tasks import purge_expired
from theses.tests.factories import make_applicant, make_call, score_everything, sent_application
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.roc_calendar.roc import format_roc_date

MIGRATION = importlib.import_module("theses.migrations.0002_reminders_and_schedules")


def open_call(officer, *, deadline: datetime.date) -> ThesisCall:
    call = make_call(
        officer,
        application_deadline=deadline,
        review_deadline=deadline + datetime.timedelta(days=30),
        final_due_date=deadline + datetime.timedelta(days=180),
    )
    services.call_open(call_id=call.pk, actor=officer)
    return call


def test_a_draft_applicant_gets_the_deadline_reminder_by_mail(mail_worker, smtp_server, make_user):
    # transactional_db flushed the data migration's rules after an earlier test: put them back as it does.
    MIGRATION.forwards(django_apps, None)
    ReminderRule.objects.exclude(kind__startswith="theses.").update(active=False)
    deadline = add_working_days(today(), 3)  # the -5 moment has come, the -1 not yet
    call = open_call(make_user(Role.RDEC_OFFICER, agency=None), deadline=deadline)
    student, done = make_applicant("draftee"), make_applicant("sender")
    draft = services.application_create(
        actor=student, call_id=call.pk, kind="subsidy", title="高雄輕軌沿線土地使用變遷", abstract="摘要"
    )
    sent_application(call, done, title="已送出的申請")

    scan_deadlines.delay()
    wait_for(lambda: len(smtp_server.messages) >= 1, message="the reminder e-mail")
    scan_deadlines.delay()
    time.sleep(2)  # room for a wrong second e-mail to arrive

    (message,) = smtp_server.messages
    assert message["To"] == "draftee@example.gov.tw"
    assert (
        message["Subject"].strip()
        == f"【提醒】{call.title}申請：高雄輕軌沿線土地使用變遷將於{format_roc_date(deadline)}到期"
    )
    body = message.get_content()
    assert "draftee 同學 您好" in body
    assert f"/theses/{draft.pk}/" in body
    row = Notification.objects.get(kind="theses.application", channel="email")
    assert (row.state, row.offset, row.recipient_id) == ("sent", -5, student.pk)
    assert not Notification.objects.filter(recipient=done).exists()


def test_the_purge_task_deletes_a_rejected_applications_data_and_files_after_retention(celery_worker, make_user):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    call = open_call(officer, deadline=add_working_days(today(), 10))
    won = sent_application(call, make_applicant("winner"), title="獲補助的研究")
    lost = sent_application(call, make_applicant("loser"), title="未獲選的研究")
    for application in (won, lost):
        services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    score_everything(call, {won.pk: 90, lost.pk: 40})
    services.call_decide(call_id=call.pk, actor=officer)
    files = {d.application_id: d.file.path for d in ThesisDocument.objects.all()}
    assert all(os.path.exists(path) for path in files.values())

    assert services.applications_purge_expired() == 0  # decided today: kept for a year

    # The decision was made 400 days ago (retention 365).
    ThesisCall.objects.filter(pk=call.pk).update(decided_at=timezone.now() - datetime.timedelta(days=400))
    # Two registrations never verified: one whose link expired three days ago, one registered an hour ago.
    for username, age in (
        ("never.verified", datetime.timedelta(days=5)),
        ("just.registered", datetime.timedelta(hours=1)),
    ):
        services.applicant_register(
            username=username, email=f"{username}@example.edu.tw", password="Grad-2026-study", display_name=username
        )
        User.objects.filter(username=username).update(date_joined=timezone.now() - age)
    purge_expired.delay()
    wait_for(lambda: not os.path.exists(files[lost.pk]), message="the rejected application's file to go")
    wait_for(lambda: not User.objects.filter(username="never.verified").exists(), message="the stale account to go")
    assert User.objects.filter(username="just.registered", is_active=False).exists()
    assert User.objects.filter(username__in=["winner", "loser"], is_active=True).count() == 2  # verified: kept
    purged = ThesisApplication.objects.get(pk=lost.pk)
    assert purged.purged_at is not None
    assert (purged.title, purged.abstract, purged.university, purged.status) == (
        "（已依保存期限刪除）",
        "",
        "",
        "rejected",
    )
    assert not ThesisDocument.objects.filter(application_id=lost.pk).exists()
    kept = ThesisApplication.objects.get(pk=won.pk)
    assert (kept.title, kept.purged_at) == ("獲補助的研究", None)
    assert os.path.exists(files[won.pk])
    os.remove(files[won.pk])  # the test's own upload
