"""What the monitoring tells people: a lag alert reads as a lag alert (落後警示, the points behind), never as a
deadline; a returned report is news to the clerk who filled it in, with the reason, at once (the notice outbox)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from notifications.models import Notification, ReminderRule
from notifications.services import deadline_scan
from plan_control.models import ControlledPlan
from plan_control.monitoring import deadlines, services
from plan_control.tests.factories import LINEAR, YEAR, agency_people, report_for

pytestmark = pytest.mark.django_db

# A Friday morning in Taipei: what a scan finds depends on the working day and the hour (escalations).
MORNING = datetime.datetime(2026, 12, 4, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def friday_morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def plan_world(make_user):
    officer = make_user(Role.RDEC_OFFICER, username="officer")
    agency, clerk, head = agency_people("PWB")
    other_clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=agency, username="clerk_pwb_2")
    plan = ControlledPlan.objects.create(
        year=YEAR, code="115-PWB-02", agency=agency, title="捷運延伸線土建工程", budget=980_000_000,
        planned_progress=LINEAR, status=ControlledPlan.Status.IN_EXECUTION,
    )  # fmt: skip
    return {"officer": officer, "clerk": clerk, "other_clerk": other_clerk, "head": head, "plan": plan}


def file_report(clerk, plan, month: int, actual, *, lagging: bool = True):
    services.reports_open_for_month(year=YEAR, month=month)
    report = report_for(plan, month)
    services.report_update(
        actor=clerk,
        report_id=report.pk,
        actual_percent=actual,
        budget_executed=1_000_000,
        narrative="依預定進度辦理",
        lag_reason="用地徵收延宕" if lagging else "",
        remedy="每週召開進度檢討會議" if lagging else "",
    )
    return services.report_submit(actor=clerk, report_id=report.pk)


def test_a_lag_alert_is_worded_as_a_lag_alert_not_a_deadline(plan_world):
    # The migrations seed every rule (e-mail too): this test reads the in-app row alone.
    ReminderRule.objects.update_or_create(
        kind=deadlines.LAG_ALERT, defaults={"name": "計畫連續落後通知", "offsets": [0], "channels": ["in_app"]}
    )
    clerk, plan = plan_world["clerk"], plan_world["plan"]
    for month, actual in ((1, 0), (2, 5), (3, 10.5)):  # planned 8.33, 16.67, 25: 3 months behind, 14.5 points
        file_report(clerk, plan, month, actual)
    deadline_scan(now=timezone.now())
    [alert] = Notification.objects.filter(kind=deadlines.LAG_ALERT)
    assert alert.recipient_id == plan_world["head"].pk
    assert (
        alert.subject
        == "【落後警示】計畫進度落後 14.5 個百分點（連續 3 個月落後）：115-PWB-02 捷運延伸線土建工程（115年3月進度）"
    )
    assert "貴機關列管計畫已達落後警示標準：計畫進度落後 14.5 個百分點" in alert.body
    assert "請督促承辦單位檢討落後原因" in alert.body
    for deadline_words in ("到期", "期限", "逾期", "尚餘"):
        assert deadline_words not in alert.subject + alert.body


def test_an_admins_own_lag_alert_wording_wins(plan_world):
    ReminderRule.objects.update_or_create(
        kind=deadlines.LAG_ALERT,
        defaults={
            "name": "計畫連續落後通知",
            "offsets": [0],
            "channels": ["in_app"],
            "subject_template": "落後：{{ title }}",
            "body_template": "請注意 {{ title }}",
        },
    )
    for month, actual in ((1, 0), (2, 5), (3, 10.5)):
        file_report(plan_world["clerk"], plan_world["plan"], month, actual)
    deadline_scan(now=timezone.now())
    [alert] = Notification.objects.filter(kind=deadlines.LAG_ALERT)
    assert alert.subject.startswith("落後：計畫進度落後 14.5 個百分點") and alert.body.startswith("請注意 ")


def test_the_other_deadlines_keep_the_generic_wording(plan_world):
    """Only the lag alert brings its own text: a report due still reads as a deadline."""
    ReminderRule.objects.update_or_create(
        kind=deadlines.REPORT_DUE, defaults={"name": "月進度填報提醒", "offsets": [-10], "channels": ["in_app"]}
    )
    services.reports_open_for_month(year=YEAR, month=11)  # due on the 10th of December 115
    deadline_scan(now=timezone.now())
    reminders = Notification.objects.filter(kind=deadlines.REPORT_DUE)
    assert reminders and all("到期" in n.subject for n in reminders)


def notices_to(user):
    return Notification.objects.filter(purpose=Notification.Purpose.NOTICE, recipient=user)


def test_a_returned_report_tells_the_clerk_who_filled_it_in_with_the_reason(plan_world):
    clerk, plan = plan_world["clerk"], plan_world["plan"]
    report = file_report(clerk, plan, 1, 10, lagging=False)
    services.report_return(actor=plan_world["officer"], report_id=report.pk, reason="預算執行數與會計月報不符")
    notices = notices_to(clerk)
    assert {n.channel for n in notices} == {"in_app", "email"}
    notice = notices.get(channel="in_app")
    assert notice.subject == "【月報退回】115-PWB-02 捷運延伸線土建工程 115年1月月報請修正"
    assert "研考會已退回「捷運延伸線土建工程」115年1月的進度月報" in notice.body
    assert "退回理由：預算執行數與會計月報不符" in notice.body
    assert notice.url == f"/plan-control/reports/{report.pk}/"
    # Another clerk files the next month: the return of that one goes to them, not to the first.
    second = file_report(plan_world["other_clerk"], plan, 2, 20, lagging=False)
    services.report_return(actor=plan_world["officer"], report_id=second.pk, reason="請補充執行情形")
    assert notices_to(plan_world["other_clerk"]).filter(subject__contains="115年2月").count() == 2
    assert not notices_to(clerk).filter(subject__contains="115年2月").exists()
    # The head and RDEC hear nothing now (the returned report's deadline reminders come later).
    for someone in (plan_world["head"], plan_world["officer"]):
        assert not notices_to(someone).exists()


def test_a_refused_return_tells_nobody(plan_world):
    report = file_report(plan_world["clerk"], plan_world["plan"], 1, 10, lagging=False)
    with pytest.raises(ValidationError):  # the reason is required
        services.report_return(actor=plan_world["officer"], report_id=report.pk, reason=" ")
    assert not Notification.objects.filter(purpose=Notification.Purpose.NOTICE).exists()
