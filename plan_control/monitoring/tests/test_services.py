"""Plan control's rules through the services: lag math, consecutive months, returns, rounding, slots."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from plan_control.models import ControlledPlan, ControlYear, ProgressReport
from plan_control.monitoring import selectors, services
from plan_control.monitoring.selectors import largest_remainder
from plan_control.tests.factories import (
    YEAR,
    agency_people,
    csv_upload,
    fill_and_submit,
    make_plans,
    plan_dict,
    report_for,
    sheet_rows,
)
from workflow_site.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

CURVE = [30, 40, 50, 60, 70, 80, 90, 95, 100, 100, 100, 100]


@pytest.fixture
def world(make_user):
    officer = make_user(Role.RDEC_OFFICER)
    pwb, clerk, head = agency_people("PWB")
    tb, tb_clerk, _tb_head = agency_people("TB")
    plans = make_plans(officer, [plan_dict("P001", "PWB", CURVE), plan_dict("P002", "PWB", CURVE)])
    return officer, clerk, head, tb_clerk, plans


def opened(officer, plan, month: int) -> ProgressReport:
    return services.report_open(actor=officer, plan_id=plan.pk, month=month)


# --- largest remainder ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([103, 60], ["63.2", "36.8"]),
        ([1, 1, 1], ["33.4", "33.3", "33.3"]),
        ([2, 1], ["66.7", "33.3"]),
        ([1, 0, 0], ["100.0", "0.0", "0.0"]),
        ([0, 0, 0], ["0.0", "0.0", "0.0"]),
        ([93, 50, 20], ["57.0", "30.7", "12.3"]),
        ([1, 1, 1, 1, 1, 1], ["16.7", "16.7", "16.7", "16.7", "16.6", "16.6"]),
    ],
)
def test_largest_remainder_rounds_to_one_decimal_and_sums_to_100(counts, expected):
    shares = largest_remainder(counts)
    assert shares == [Decimal(e) for e in expected]
    if sum(counts):
        assert sum(shares) == Decimal("100.0")


def test_largest_remainder_other_precisions():
    assert largest_remainder([1, 1, 1], places=0) == [Decimal(34), Decimal(33), Decimal(33)]
    assert sum(largest_remainder([7, 11, 13, 17], places=2)) == Decimal("100.00")


# --- lag math ---------------------------------------------------------------------------------------------------


def test_exactly_the_threshold_behind_is_lagging_and_needs_reason_and_remedy(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    report = opened(officer, plan, 1)
    assert report.planned_percent == Decimal("30.00")
    services.report_update(actor=clerk, report_id=report.pk, actual_percent=Decimal("25.00"), budget_executed=10)
    with pytest.raises(ValidationError) as excinfo:
        services.report_submit(actor=clerk, report_id=report.pk)
    assert "lag_reason" in excinfo.value.message_dict
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.PENDING
    services.report_update(actor=clerk, report_id=report.pk, lag_reason="用地取得延宕")
    with pytest.raises(ValidationError):  # a reason without a remedy is still not enough
        services.report_submit(actor=clerk, report_id=report.pk)
    services.report_update(actor=clerk, report_id=report.pk, remedy="協調地主")
    report = services.report_submit(actor=clerk, report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.SUBMITTED
    assert report.lag_points == Decimal("5.00")
    assert report.lagging is True
    assert report.consecutive_lagging == 1
    assert report.submitted_at is not None


@pytest.mark.parametrize(("actual", "lag"), [("25.10", "4.90"), ("25.01", "4.99"), ("31.00", "-1.00")])
def test_just_under_the_threshold_is_on_track(world, actual, lag):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    report = fill_and_submit(clerk, opened(officer, plan, 1), actual)
    report.refresh_from_db()
    assert report.lag_points == Decimal(lag)
    assert report.lagging is False
    assert report.consecutive_lagging == 0


def test_the_years_threshold_is_configurable(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    ControlYear.objects.filter(year=YEAR).update(lag_threshold=Decimal("3.0"))
    report = fill_and_submit(clerk, opened(officer, plan, 1), "26.0", reason="延宕", remedy="趕工")
    report.refresh_from_db()
    assert report.lag_points == Decimal("4.00")
    assert report.lagging is True


def test_a_plan_at_100_percent_is_never_lagging(world):
    officer, clerk, _head, _tb_clerk, (plan, other) = world
    done = fill_and_submit(clerk, opened(officer, plan, 9), 100)
    assert done.planned_percent == Decimal("100.00")
    done.refresh_from_db()
    assert (done.lagging, done.lag_points) == (False, Decimal("0.00"))
    # Even if the planned figure said more than 100 (a bad slot), a finished plan does not lag.
    report = opened(officer, other, 9)
    ProgressReport.objects.filter(pk=report.pk).update(planned_percent=Decimal("110.00"))
    report = fill_and_submit(clerk, report, 100)
    report.refresh_from_db()
    assert report.lagging is False


def test_consecutive_lagging_counts_up_and_resets_after_an_on_track_month(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    figures = {1: "20", 2: "30", 3: "50", 4: "50", 5: "60"}  # planned 30, 40, 50, 60, 70
    expected = {1: 1, 2: 2, 3: 0, 4: 1, 5: 2}
    for month, actual in figures.items():
        report = fill_and_submit(clerk, opened(officer, plan, month), actual, reason="延宕", remedy="趕工")
        if month == 2:
            services.report_accept(actor=officer, report_id=report.pk)  # accepted counts like submitted
        report.refresh_from_db()
        assert report.consecutive_lagging == expected[month], month
        assert report.lagging is (expected[month] > 0)


def test_a_returned_previous_month_breaks_the_run(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    january = fill_and_submit(clerk, opened(officer, plan, 1), "20", reason="延宕", remedy="趕工")
    services.report_return(actor=officer, report_id=january.pk, reason="數字有誤")
    february = fill_and_submit(clerk, opened(officer, plan, 2), "30", reason="延宕", remedy="趕工")
    february.refresh_from_db()
    assert february.consecutive_lagging == 1


def test_a_returned_report_counts_as_not_reported_until_resubmitted(world):
    officer, clerk, _head, _tb_clerk, (plan, other) = world
    report = fill_and_submit(clerk, opened(officer, plan, 1), "30")
    fill_and_submit(clerk, opened(officer, other, 1), "30")
    with pytest.raises(ValidationError):
        services.report_return(actor=officer, report_id=report.pk, reason="  ")
    services.report_return(actor=officer, report_id=report.pk, reason="預算數與會計報表不符")
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.RETURNED
    assert report.return_reason == "預算數與會計報表不符"
    analysis = selectors.monthly_analysis(year=YEAR, month=1)
    assert (analysis["on_track"]["count"], analysis["not_reported"]["count"]) == (1, 1)
    # The agency corrects its figures and submits again; RDEC accepts.
    services.report_update(actor=clerk, report_id=report.pk, budget_executed=250_000)
    services.report_submit(actor=clerk, report_id=report.pk)
    services.report_accept(actor=officer, report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.ACCEPTED
    assert report.budget_executed == 250_000
    analysis = selectors.monthly_analysis(year=YEAR, month=1)
    assert (analysis["on_track"]["count"], analysis["not_reported"]["count"]) == (2, 0)
    transitions = list(
        TransitionLog.objects.filter(object_id=report.pk, transition__in=["submit", "return_for_correction", "accept"])
        .order_by("pk")
        .values_list("transition", flat=True)
    )
    assert transitions == ["submit", "return_for_correction", "submit", "accept"]


def test_a_submitted_report_is_locked(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    report = fill_and_submit(clerk, opened(officer, plan, 1), "30")
    with pytest.raises(TransitionNotAllowed):
        services.report_update(actor=clerk, report_id=report.pk, actual_percent=Decimal("31"))
    with pytest.raises(TransitionNotAllowed):
        services.report_submit(actor=clerk, report_id=report.pk)


# --- bad figures --------------------------------------------------------------------------------------------------


def test_actual_below_last_months_needs_a_reason(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    fill_and_submit(clerk, opened(officer, plan, 1), "30")
    february = opened(officer, plan, 2)
    with pytest.raises(ValidationError) as excinfo:
        services.report_update(actor=clerk, report_id=february.pk, actual_percent=Decimal("28"))
    assert "actual_percent" in excinfo.value.message_dict
    february.refresh_from_db()
    assert february.actual_percent is None
    services.report_update(
        actor=clerk, report_id=february.pk, actual_percent=Decimal("28"), lag_reason="上月數字誤植，更正"
    )
    february.refresh_from_db()
    assert february.actual_percent == Decimal("28")


@pytest.mark.parametrize("actual", ["-0.01", "100.01", "150"])
def test_actual_outside_0_to_100_is_refused(world, actual):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    report = opened(officer, plan, 1)
    with pytest.raises(ValidationError):
        services.report_update(actor=clerk, report_id=report.pk, actual_percent=Decimal(actual))
    report.refresh_from_db()
    assert report.actual_percent is None


def test_submit_needs_the_figures(world):
    officer, clerk, _head, _tb_clerk, (plan, _other) = world
    report = opened(officer, plan, 1)
    with pytest.raises(ValidationError):
        services.report_submit(actor=clerk, report_id=report.pk)
    services.report_update(actor=clerk, report_id=report.pk, actual_percent=Decimal("30"))
    with pytest.raises(ValidationError):
        services.report_submit(actor=clerk, report_id=report.pk)


def test_other_agencies_cannot_touch_a_report(world):
    officer, _clerk, _head, tb_clerk, (plan, _other) = world
    report = opened(officer, plan, 1)
    with pytest.raises(NotFound):
        services.report_update(actor=tb_clerk, report_id=report.pk, actual_percent=Decimal("30"))
    with pytest.raises(NotFound):
        services.report_submit(actor=tb_clerk, report_id=report.pk)


# --- slots -----------------------------------------------------------------------------------------------------


def test_report_open_rules(world):
    officer, clerk, _head, _tb_clerk, (plan, other) = world
    report = opened(officer, plan, 3)
    assert report.planned_percent == Decimal("50")
    assert report.agency_id == plan.agency_id
    assert report.due_date.year == 2026 and report.due_date.month == 4  # due in the following month
    with pytest.raises(Conflict) as excinfo:
        opened(officer, plan, 3)
    assert excinfo.value.code == "duplicate_report"
    for month in (0, 13):
        with pytest.raises(ValidationError):
            opened(officer, plan, month)
    with pytest.raises(PermissionDenied):
        services.report_open(actor=clerk, plan_id=other.pk, month=3)
    services.plan_terminate(plan_id=other.pk, actor=officer, reason="政策調整")
    with pytest.raises(TransitionNotAllowed):
        opened(officer, ControlledPlan.objects.get(pk=other.pk), 3)
    assert ProgressReport.objects.count() == 1


def test_reports_open_for_month_is_idempotent(world):
    officer, _clerk, _head, _tb_clerk, (plan, other) = world
    opened(officer, plan, 4)
    assert services.reports_open_for_month(year=YEAR, month=4) == 1
    assert services.reports_open_for_month(year=YEAR, month=4) == 0
    assert ProgressReport.objects.filter(month=4).count() == 2
    assert report_for(other, 4).planned_percent == Decimal("60")


def test_only_rdec_officers_start_plans(world, make_user):
    officer, clerk, head, _tb_clerk, _plans = world
    pwb = clerk.agency
    plan = make_plans(officer, [plan_dict("P003", pwb.code)], start=False)[0]
    for outsider in (clerk, head, make_user(Role.RDEC_SUPERVISOR)):
        with pytest.raises(PermissionDenied):
            services.plan_start(plan_id=plan.pk, actor=outsider)
    plan = services.plan_start(plan_id=plan.pk, actor=officer)
    assert plan.status == ControlledPlan.Status.IN_EXECUTION
    with pytest.raises(TransitionNotAllowed):
        services.plan_start(plan_id=plan.pk, actor=officer)


def test_a_rejected_import_reads_row_by_row_as_a_validation_error(world):
    officer, _clerk, _head, _tb_clerk, _plans = world
    upload = csv_upload(sheet_rows([plan_dict("P001", "PWB"), plan_dict("P009", "NOPE")]))
    with pytest.raises(ValidationError) as excinfo:
        services.plans_import(actor=officer, year=YEAR, upload=upload)
    assert excinfo.value.rows == [
        {"row": 2, "column": "code", "message": "計畫編號 P001 已存在於本年度"},
        {"row": 3, "column": "agency_code", "message": "未知的機關代碼 NOPE"},
    ]
    assert excinfo.value.message_dict == {
        "errors": ["第 2 列：計畫編號 P001 已存在於本年度", "第 3 列：未知的機關代碼 NOPE"]
    }
    assert ControlledPlan.objects.count() == 2


@pytest.mark.django_db
def test_a_report_is_overdue_past_its_deadline_until_submitted(make_user):
    import datetime

    import time_machine

    from plan_control.tests.factories import agency_people, make_plans, plan_dict, report_for

    officer = make_user("rdec_officer")
    agency, clerk, _head = agency_people("OVD")
    plan = make_plans(officer, [plan_dict("OVD-1", agency.code)])[0]
    services.reports_open_for_month(year=plan.year, month=3)
    report = report_for(plan, 3)
    taipei = datetime.timezone(datetime.timedelta(hours=8))
    with time_machine.travel(datetime.datetime.combine(report.due_date, datetime.time(18), taipei), tick=False):
        assert report.overdue is False  # the deadline day itself
    day_after = report.due_date + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day_after, datetime.time(9), taipei), tick=False):
        assert report.overdue is True
        submitted = fill_and_submit(clerk, report, 25)
        assert submitted.overdue is False


def test_a_substitute_fills_in_and_submits_for_the_clerk_they_stand_in_for(world, make_user):
    """The report's page offers them the form (they act for the clerk), so the services must accept it too."""
    import datetime

    from accounts.tests.factories import DelegationFactory

    officer, clerk, _head, _tb_clerk, plans = world
    deputy = make_user(Role.REVIEWER, agency=None)  # no reporting rights of their own
    report = opened(officer, plans[0], 1)
    with pytest.raises(NotFound):  # not theirs to see, before the delegation
        fill_and_submit(deputy, report, 8.33)
    DelegationFactory(user=clerk, substitute=deputy, starts=datetime.date(2000, 1, 1), ends=datetime.date(2100, 1, 1))
    deputy = type(deputy).objects.get(pk=deputy.pk)  # a new request: the principals are looked up afresh
    fill_and_submit(deputy, report, report.planned_percent)
    report.refresh_from_db()
    assert (report.status, report.actual_percent, report.lagging) == ("submitted", report.planned_percent, False)
    log = TransitionLog.objects.get(object_id=report.pk, transition="submit")
    assert (log.actor, log.acting_for) == (deputy, clerk)
