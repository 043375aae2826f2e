"""The demo's pre-budget review: fiscal 108 finished with the figures RDEC reported, this year's cycle collecting;
seeding twice changes nothing."""

import datetime

import pytest
from django.db.models import Count

from accounts import demo as account_demo
from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from notifications.models import Notification
from plan_control.budget import demo, selectors
from plan_control.models import (
    AmountLedger,
    BudgetCycle,
    BudgetRequest,
    ControlledPlan,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
)
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.calendar import today

pytestmark = pytest.mark.django_db
S = BudgetRequest.Status


def snapshot() -> tuple:
    return tuple(
        model.objects.count()
        for model in (
            BudgetCycle,
            BudgetRequest,
            AmountLedger,
            ReviewMeeting,
            MeetingDecision,
            SiteVisit,
            ControlledPlan,
            TransitionLog,
            Notification,
        )
    )


@pytest.mark.parametrize("fund_agencies", [False, True], ids=["accounts-demo-only", "with-fund-agencies"])
def test_fiscal_108_has_the_reported_totals_and_this_years_cycle_collects(fund_agencies):
    account_demo.seed()
    if fund_agencies:  # the MRT and water bureaus (the proposals demo's agencies) ask for fund budget too
        for code in ("MTO", "KHW", "HB"):
            agency = AgencyFactory(code=f"{code}X" if code == "HB" else code, name=f"{code}局")
            UserFactory(roles=[Role.AGENCY_CLERK], agency=agency, username=f"{code.lower()}.clerk")
            UserFactory(roles=[Role.AGENCY_HEAD], agency=agency, username=f"{code.lower()}.head")
    lines = demo.seed()

    assert lines[0].startswith(
        "108年度先期作業：申請 96 件共 315億5,000萬元，核定公務預算 91億6,400萬元、基金預算 18億4,700萬元；"
        "初審會議 24 場、實地訪查 3 次；列管計畫 "
    )
    cycle = BudgetCycle.objects.get(fiscal_year=108)
    assert cycle.status == BudgetCycle.Status.CLOSED
    assert (cycle.request_deadline, cycle.balancing_date) == (datetime.date(2018, 3, 30), datetime.date(2018, 7, 17))
    assert cycle.approved_at.date() == datetime.date(2018, 7, 31)
    totals = selectors.totals(cycle=cycle)["overall"]
    assert totals["count"] == 96
    assert totals["requested"]["total"] == 31_550_000_000
    assert totals["requested"]["fund"] > 0 and totals["requested"]["central"] > 0
    assert (totals["approved"]["public"], totals["approved"]["fund"]) == (9_164_000_000, 1_847_000_000)
    assert (totals["approved"]["central"], totals["approved"]["other"]) == (0, 0)
    assert totals["over_ceiling"] == []
    states = dict(cycle.requests.values_list("status").annotate(n=Count("pk")).order_by())
    assert set(states) == {S.APPROVED, S.CUT, S.REJECTED}
    assert all(n >= 5 for n in states.values())

    meetings = ReviewMeeting.objects.filter(cycle=cycle)
    assert meetings.count() == 24
    assert set(meetings.values_list("status", flat=True)) == {ReviewMeeting.Status.HELD}
    days = set(meetings.values_list("date", flat=True))
    assert len(days) == 24 and all(datetime.date(2018, 5, 1) <= d <= datetime.date(2018, 6, 30) for d in days)
    assert {d.month for d in days} == {5, 6}
    assert MeetingDecision.objects.filter(meeting__cycle=cycle).count() == 96
    assert SiteVisit.objects.filter(cycle=cycle).count() == 3

    granted = cycle.requests.filter(status__in=[S.APPROVED, S.CUT])
    plans = ControlledPlan.objects.filter(year=108)
    assert plans.count() == granted.count() and lines[0].endswith(f"列管計畫 {granted.count()} 項")
    assert sum(plans.values_list("budget", flat=True)) == 9_164_000_000 + 1_847_000_000
    assert not granted.filter(controlled_plan__isnull=True).exists()

    current = BudgetCycle.objects.get(fiscal_year=today().year - 1911 + 1)
    assert current.status == BudgetCycle.Status.COLLECTING and current.request_deadline > today()
    assert sorted(current.requests.values_list("status", flat=True)) == sorted(
        [S.DRAFT, S.DRAFT, S.PENDING_APPROVAL, S.SUBMITTED]
    )

    before = snapshot()
    assert demo.seed() == []
    assert snapshot() == before


def test_without_the_demo_accounts_it_seeds_nothing():
    assert demo.seed() == []
    assert not BudgetCycle.objects.exists()
