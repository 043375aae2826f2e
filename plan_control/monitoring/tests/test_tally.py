"""The monthly tally behind the monthly analysis: the services keep it equal to a live recount step by step;
a rebuild (service, command, data migration) repairs it; the analysis reads it in a constant number of queries."""

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from plan_control.models import ControlledPlan, ControlYear, MonthlyTally, ProgressReport
from plan_control.monitoring import selectors, services
from plan_control.monitoring.tally import monthly_tally_rebuild, tally_refresh
from plan_control.tests.factories import YEAR, agency_people, fill_and_submit, make_plans, plan_dict, report_for

pytestmark = pytest.mark.django_db

CURVE = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100]


def live_recount(year: int) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Per (agency, month) with plans in control: (plans, lagging, on track), straight from the tables in plain
    SQL, independent of the tally's own queries."""
    plans, reports = ControlledPlan._meta.db_table, ProgressReport._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.agency_id, m.month, COUNT(*),
                   COUNT(*) FILTER (WHERE r.status IN ('submitted', 'accepted') AND r.lagging),
                   COUNT(*) FILTER (WHERE r.status IN ('submitted', 'accepted') AND NOT r.lagging)
            FROM {plans} p
            CROSS JOIN generate_series(1, 12) AS m(month)
            LEFT JOIN {reports} r ON r.plan_id = p.id AND r.month = m.month
            WHERE p.year = %s AND p.status IN ('in_execution', 'completed')
            GROUP BY p.agency_id, m.month
            """,
            [year],
        )
        return {(agency, month): (n, lagging, on_track) for agency, month, n, lagging, on_track in cursor.fetchall()}


def tallied(year: int) -> dict[tuple[int, int], tuple[int, int, int]]:
    """The tally's rows with plans in control (rows of zeros are allowed and mean nothing)."""
    return {
        (agency, month): (n, lagging, on_track)
        for agency, month, n, lagging, on_track in MonthlyTally.objects.filter(year=year, plans__gt=0).values_list(
            "agency_id", "month", "plans", "lagging", "on_track"
        )
    }


def assert_in_step(year: int = YEAR) -> dict:
    recount = live_recount(year)
    assert tallied(year) == recount
    assert not MonthlyTally.objects.filter(year=year, plans=0).exclude(lagging=0, on_track=0).exists()
    return recount


def submit(clerk, report: ProgressReport, actual: str) -> ProgressReport:
    report = fill_and_submit(clerk, report, actual, reason="用地取得延宕", remedy="協調地主")
    report.refresh_from_db()
    return report


@pytest.fixture
def people(make_user):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    _pwb, clerk, _head = agency_people("PWB")
    _tb, tb_clerk, _tb_head = agency_people("TB")
    return officer, clerk, tb_clerk


def test_every_service_step_keeps_the_tally_equal_to_a_live_recount(people):
    officer, clerk, tb_clerk = people
    plans = make_plans(
        officer,
        [
            plan_dict("P1", "PWB", CURVE),
            plan_dict("P2", "PWB", CURVE),
            plan_dict("P3", "PWB", CURVE),
            plan_dict("P4", "TB", CURVE),
            plan_dict("P5", "TB", CURVE),  # in execution, never gets a January slot
            plan_dict("P6", "PWB", CURVE),  # stays registered, then is terminated: never in control
        ],
        start=False,
    )
    p1, p2, p3, p4, p5, p6 = plans
    assert ControlYear.objects.get(year=YEAR).lag_threshold == Decimal("5.0")
    assert_in_step()  # imported plans are registered: nothing in control yet
    assert live_recount(YEAR) == {}

    for plan in (p1, p2, p3, p4, p5):
        services.plan_start(plan_id=plan.pk, actor=officer)
        assert_in_step()
    for plan in (p1, p2, p3, p4):
        services.report_open(actor=officer, plan_id=plan.pk, month=1)
    assert_in_step()  # pending slots count as not reported

    january = {plan.code: report_for(plan, 1) for plan in (p1, p2, p3, p4)}
    assert submit(clerk, january["P1"], "5.0").lagging is True  # exactly 5.0 behind the planned 10
    assert_in_step()
    assert submit(clerk, january["P2"], "5.1").lagging is False  # 4.9 behind
    assert_in_step()
    assert submit(clerk, january["P3"], "100").lagging is False  # done
    assert_in_step()
    assert submit(tb_clerk, january["P4"], "0").lagging is True
    recount = assert_in_step()
    pwb, tb = p1.agency_id, p4.agency_id
    assert recount[(pwb, 1)] == (3, 1, 2)  # P6 is not in control
    assert recount[(tb, 1)] == (2, 1, 0)  # P5 has no slot: not reported

    services.report_accept(actor=officer, report_id=january["P1"].pk)
    assert_in_step()
    services.report_return(actor=officer, report_id=january["P2"].pk, reason="數字有誤")
    assert live_recount(YEAR)[(pwb, 1)] == (3, 1, 1)
    assert_in_step()
    services.report_update(actor=clerk, report_id=january["P2"].pk, budget_executed=90_000)
    services.report_submit(actor=clerk, report_id=january["P2"].pk)
    assert live_recount(YEAR)[(pwb, 1)] == (3, 1, 2)
    assert_in_step()
    services.report_accept(actor=officer, report_id=january["P2"].pk)
    assert_in_step()

    services.plan_complete(plan_id=p3.pk, actor=officer)
    assert_in_step()
    services.plan_terminate(plan_id=p4.pk, actor=officer, reason="預算刪除")
    assert live_recount(YEAR)[(tb, 1)] == (1, 0, 0)  # its lagging report leaves with it
    assert_in_step()
    services.plan_terminate(plan_id=p6.pk, actor=officer, reason="併入他案")
    assert_in_step()

    services.reports_open_for_month(year=YEAR, month=2)
    assert_in_step()
    february = report_for(p1, 2)
    assert submit(clerk, february, "12").lagging is True  # planned 20
    recount = assert_in_step()
    assert recount[(pwb, 2)] == (3, 1, 0)

    # The analysis reads the same figures, by agency code.
    for month in (1, 2, 3):
        analysis = selectors.monthly_analysis(year=YEAR, month=month)
        assert [row["agency_code"] for row in analysis["by_agency"]] == ["PWB", "TB"]
        for row in analysis["by_agency"]:
            plans_n, lagging, on_track = recount[(row["agency"], month)]
            assert (row["total"], row["lagging"], row["on_track"]) == (plans_n, lagging, on_track)
            assert row["not_reported"] == plans_n - lagging - on_track
        assert analysis["total"] == 4
    analysis = selectors.monthly_analysis(year=YEAR, month=1)
    assert (analysis["on_track"]["count"], analysis["lagging"]["count"], analysis["not_reported"]["count"]) == (
        2,
        1,
        1,
    )
    assert [p["code"] for p in analysis["lagging_plans"]] == ["P1"]


@pytest.mark.django_db(transaction=True)
def test_a_refresh_outside_the_writers_transaction_is_refused():
    with pytest.raises(RuntimeError):
        tally_refresh(year=YEAR, agency_ids=[1])


def test_a_refresh_takes_the_years_lock_before_counting(people):
    officer, _clerk, _tb_clerk = people
    (plan,) = make_plans(officer, [plan_dict("P1", "PWB", CURVE)])
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        tally_refresh(year=YEAR, agency_ids=[plan.agency_id])
    sqls = [q["sql"] for q in ctx.captured_queries]
    locked = next(i for i, sql in enumerate(sqls) if "FOR NO KEY UPDATE" in sql)
    assert ControlYear._meta.db_table in sqls[locked]
    assert all(ControlYear._meta.db_table in sql or "SAVEPOINT" in sql for sql in sqls[:locked])  # counts after


def test_a_refresh_creates_the_years_settings_when_missing(people):
    officer, _clerk, _tb_clerk = people
    (plan,) = make_plans(officer, [plan_dict("P1", "PWB", CURVE)])
    ControlledPlan.objects.filter(pk=plan.pk).update(year=YEAR + 1)  # a year nobody has set up
    with transaction.atomic():
        tally_refresh(year=YEAR + 1, agency_ids=[plan.agency_id])
    assert ControlYear.objects.filter(year=YEAR + 1).exists()
    assert_in_step(YEAR + 1)


@pytest.fixture
def reported_year(people):
    """Two agencies' plans in control with January reported (lagging and on track), one registered plan."""
    officer, clerk, tb_clerk = people
    plans = make_plans(officer, [plan_dict(f"P{n}", "PWB" if n < 4 else "TB", CURVE) for n in range(1, 6)])
    make_plans(officer, [plan_dict("R1", "TB", CURVE)], start=False)
    services.reports_open_for_month(year=YEAR, month=1)
    for plan, actual in zip(plans, ["2", "9", "10", "3"], strict=False):
        submit(clerk if plan.code < "P4" else tb_clerk, report_for(plan, 1), actual)
    recount = assert_in_step()
    assert recount[(plans[0].agency_id, 1)] == (3, 1, 2)
    return plans


def corrupt(plans) -> None:
    """What writing around the services leaves: wrong counts, missing rows, a stale agency."""
    MonthlyTally.objects.filter(year=YEAR, month=1).update(lagging=0, on_track=0)
    MonthlyTally.objects.filter(year=YEAR, month=2, agency_id=plans[-1].agency_id).delete()
    stale = AgencyFactory(code="OLD")  # its plans were removed by hand
    MonthlyTally.objects.create(year=YEAR, month=1, agency=stale, plans=7, lagging=2, on_track=1)
    assert tallied(YEAR) != live_recount(YEAR)


def test_a_rebuild_repairs_a_corrupted_tally(reported_year):
    corrupt(reported_year)
    other_year = MonthlyTally.objects.create(year=YEAR - 1, month=1, agency_id=reported_year[0].agency_id, plans=1)
    assert monthly_tally_rebuild(year=YEAR) == 2 * 12  # PWB and TB (TB also has a registered plan)
    assert_in_step()
    assert not MonthlyTally.objects.filter(year=YEAR, agency__code="OLD").exists()
    assert MonthlyTally.objects.filter(pk=other_year.pk, plans=1).exists()  # another year is left alone
    analysis = selectors.monthly_analysis(year=YEAR, month=1)
    assert (analysis["total"], analysis["lagging"]["count"], analysis["on_track"]["count"]) == (5, 2, 2)


def test_the_rebuild_command_for_a_year_and_for_every_year(reported_year):
    corrupt(reported_year)
    out = io.StringIO()
    call_command("rebuild_monthly_tally", "--year", str(YEAR), stdout=out)
    assert f"{YEAR}年度" in out.getvalue()
    assert_in_step()
    corrupt(reported_year[:1])
    MonthlyTally.objects.create(year=YEAR - 1, month=3, agency_id=reported_year[0].agency_id, plans=4, lagging=1)
    out = io.StringIO()
    call_command("rebuild_monthly_tally", stdout=out)
    assert f"{YEAR - 1}年度" in out.getvalue() and f"{YEAR}年度" in out.getvalue()
    assert_in_step()
    assert not MonthlyTally.objects.filter(year=YEAR - 1).exists()  # no plans that year any more


def test_the_data_migration_builds_the_tally_of_existing_data(reported_year):
    MonthlyTally.objects.all().delete()
    migration = importlib.import_module("plan_control.migrations.0007_build_monthly_tally")
    migration.build(apps, None)
    assert_in_step()


def grow(officer, clerk, agency_code: str, first: int, n: int) -> None:
    plans = make_plans(officer, [plan_dict(f"Q{first + i:03d}", agency_code, CURVE) for i in range(n)])
    services.reports_open_for_month(year=YEAR, month=1)
    for i, plan in enumerate(plans):
        if i % 3 < 2:
            submit(clerk, report_for(plan, 1), "3" if i % 3 == 0 else "9")


def test_the_analysis_costs_three_queries_for_5_plans_as_for_50(people, django_assert_num_queries):
    officer, clerk, tb_clerk = people
    grow(officer, clerk, "PWB", 0, 5)
    with django_assert_num_queries(3):
        few = selectors.monthly_analysis(year=YEAR, month=1)
    grow(officer, clerk, "PWB", 100, 25)
    grow(officer, tb_clerk, "TB", 200, 20)
    with django_assert_num_queries(3):
        many = selectors.monthly_analysis(year=YEAR, month=1)
    assert (few["total"], many["total"]) == (5, 50)
    assert (many["lagging"]["count"], many["on_track"]["count"]) == (2 + 9 + 7, 2 + 8 + 7)
    assert len(many["lagging_plans"]) == 18
    assert_in_step()
