"""The beat task that opens the monthly report slots: once per month, only for plans in execution."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from plan_control.models import ProgressReport
from plan_control.monitoring import deadlines, services
from plan_control.monitoring.tasks import open_monthly_report_slots
from plan_control.tests.factories import YEAR, agency_people, fill_and_submit, make_plans, plan_dict, report_for

pytestmark = pytest.mark.django_db
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


@pytest.fixture
def plans(make_user):
    officer = make_user(Role.RDEC_OFFICER)
    agency_people("PWB")
    running = make_plans(officer, [plan_dict("P001", "PWB"), plan_dict("P002", "PWB")])
    make_plans(officer, [plan_dict("P003", "PWB")], start=False)  # registered, not started
    stopped = make_plans(officer, [plan_dict("P004", "PWB")])
    services.plan_terminate(plan_id=stopped[0].pk, actor=officer, reason="停辦")
    completed = make_plans(officer, [plan_dict("P005", "PWB")])
    services.plan_complete(plan_id=completed[0].pk, actor=officer)
    make_plans(officer, [plan_dict("P001", "PWB")], year=YEAR - 1)  # last year's plan, still running
    return running


def test_opens_one_slot_per_plan_in_execution_and_is_idempotent(plans):
    assert open_monthly_report_slots(YEAR, 3) == 2
    assert open_monthly_report_slots(YEAR, 3) == 0
    slots = ProgressReport.objects.filter(year=YEAR, month=3)
    assert sorted(slots.values_list("plan_id", flat=True)) == sorted(p.pk for p in plans)
    assert all(s.status == ProgressReport.Status.PENDING for s in slots)
    assert not ProgressReport.objects.filter(year=YEAR - 1).exists()


def test_runs_through_celery_too(plans):
    assert open_monthly_report_slots.apply(args=(YEAR, 5)).get() == 2
    assert open_monthly_report_slots.apply(args=(YEAR, 5)).get() == 0
    assert ProgressReport.objects.filter(month=5).count() == 2


def test_without_arguments_opens_the_previous_month(plans):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 0, 5, tzinfo=TAIPEI), tick=False):
        assert open_monthly_report_slots() == 2
        assert open_monthly_report_slots() == 0
    assert set(ProgressReport.objects.values_list("year", "month")) == {(YEAR, 2)}
    report = ProgressReport.objects.filter(month=2).first()
    assert report.due_date.month == 3  # February's report is due in March


def test_on_new_years_day_it_opens_last_years_december(plans):
    with time_machine.travel(datetime.datetime(2027, 1, 1, 0, 5, tzinfo=TAIPEI), tick=False):
        assert open_monthly_report_slots() == 2
    assert set(ProgressReport.objects.values_list("year", "month")) == {(YEAR, 12)}
    assert ProgressReport.objects.first().due_date.year == 2027


def test_reports_awaiting_acceptance_cost_the_same_queries_however_many(make_user):
    """The acceptance reminders' due dates come from one calendar, not one calendar query per report."""
    officer = make_user(Role.RDEC_OFFICER)
    _agency, clerk, _head = agency_people("PWB")
    plans = make_plans(officer, [plan_dict(f"P{n:03d}", "PWB") for n in range(6)])
    for plan in plans:
        services.report_open(actor=officer, plan_id=plan.pk, month=1)

    def submit_on(day: int, plan) -> None:
        with time_machine.travel(datetime.datetime(2026, 2, day, 10, tzinfo=TAIPEI), tick=False):
            fill_and_submit(clerk, report_for(plan, 1), 10)

    def queries_for(count: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            items = list(deadlines.acceptance(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)))
        assert len(items) == count
        return len(ctx.captured_queries)

    for day, plan in enumerate(plans[:2], start=2):
        submit_on(day, plan)
    few = queries_for(2)
    for day, plan in enumerate(plans[2:], start=10):  # other days, some across a weekend
        submit_on(day, plan)
    assert queries_for(6) == few
