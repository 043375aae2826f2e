"""The year-end rollup through a real Celery worker on Redis: one Appraisal row per plan with the formula's
suggested score, a rerun that rewrites the same rows, and a worker killed mid-way whose task is redelivered.

The year is built directly (bulk_create): six agencies of ten plans in execution, each with a known monthly
record; the expected scores are computed here from that record in plain Python (and two by hand, below),
independently of the SQL GROUP BY the rollup uses.
"""

import datetime
import re
import time
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction

from accounts.models import Agency
from accounts.roles import Role
from plan_control.appraisal import selectors as appraisal_selectors
from plan_control.appraisal.services import appraisal_rollup_start, appraisal_round_create
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan, ProgressReport
from plan_control.tests.factories import LINEAR, YEAR
from tests.fixtures.waiting import wait_for
from workflow_site.models import TransitionLog

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
AGENCIES = 6
PLANS_PER_AGENCY = 10
BUDGET = 1_200_000
LAGS = [0, 2, 6, 10]  # points behind the planned curve, by plan number % 4
BUDGET_PERCENTS = [100, 95, 90, 81, 45, 0]  # of the budget executed by December, by plan number % 6
S = ProgressReport.Status
TWO = Decimal("0.01")


def due_date(month: int) -> datetime.date:
    """A month's report is due on the 10th of the following month."""
    return datetime.date(2026, month + 1, 10) if month < 12 else datetime.date(2027, 1, 10)


def report_specs(i: int) -> list[dict]:
    """Plan number i's twelve months (fewer when a month was never opened), as plain dicts.

    - lag: LAGS[i % 4] points behind each month (January 3 points ahead when the lag is 0: counts as 0);
    - the last i % 3 months do not count: the last of them has no report at all when i % 3 == 2, the others are
      pending (even i) or returned (odd i: with 100% and the whole budget, which must not leak into the score);
    - the first i % 5 months were submitted two days after the deadline, the rest the day before;
    - the budget executed grows linearly to BUDGET_PERCENTS[i % 6] % in December.
    """
    uncounted = i % 3
    specs = []
    for month in range(1, 13):
        planned = Decimal(str(LINEAR[month - 1]))
        lag = Decimal(-3) if (LAGS[i % 4] == 0 and month == 1) else Decimal(LAGS[i % 4])
        actual = max(Decimal(0), planned - lag)
        counted = month <= 12 - uncounted
        late = month <= i % 5
        submitted = datetime.datetime.combine(due_date(month), datetime.time(12), TAIPEI) + datetime.timedelta(
            days=2 if late else -1
        )
        spec = {
            "month": month,
            "planned": planned,
            "actual": actual,
            "lag_points": planned - actual,
            "lagging": planned - actual >= 5,
            "budget_executed": 1000 * month * BUDGET_PERCENTS[i % 6],  # BUDGET x month/12 x percent/100
            "submitted_at": submitted,
            "status": (S.SUBMITTED if month % 2 else S.ACCEPTED),
        }
        if not counted:
            if uncounted == 2 and month == 12:
                continue  # never opened
            if i % 2:
                spec.update(status=S.RETURNED, actual=Decimal(100), lag_points=Decimal(0), budget_executed=BUDGET)
            else:
                spec.update(status=S.PENDING, actual=None, lag_points=None, lagging=False, submitted_at=None)
                spec["budget_executed"] = None
        specs.append(spec)
    return specs


def q(value) -> Decimal:
    return Decimal(value).quantize(TWO, ROUND_HALF_UP)


def clamp(value) -> Decimal:
    return min(Decimal(100), max(Decimal(0), value))


def expected_score(specs: list[dict], weights: dict | None = None) -> Decimal:
    """The documented formula (plan_control/appraisal/formula.py), straight from the monthly record."""
    weights = weights or {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15}
    counted = [s for s in specs if s["status"] in (S.SUBMITTED, S.ACCEPTED)]
    n = len(counted)
    mean_lag = sum(max(Decimal(0), s["lag_points"]) for s in counted) / n if n else Decimal(0)
    lagging = sum(1 for s in counted if s["lagging"])
    late = sum(1 for s in counted if s["submitted_at"].astimezone(TAIPEI).date() > due_date(s["month"]))
    final = max((s["actual"] for s in counted), default=Decimal(0))
    rate = Decimal(max((s["budget_executed"] for s in counted), default=0)) * 100 / BUDGET
    parts = {
        "progress": q(clamp(100 - 5 * mean_lag - 2 * lagging)),
        "timeliness": q(clamp(Decimal(100) * (n - Decimal("0.5") * late) / 12)),
        "completion": q(clamp(final)),
        "budget": q(clamp(rate / 90 * 100)),
    }
    return q(sum(parts[k] * Decimal(w) for k, w in weights.items()) / 100)


def build_year(*, agencies: int = AGENCIES, per_agency: int = PLANS_PER_AGENCY, prefix: str = "RU") -> dict:
    """Agencies, their plans in execution with their reports, and plans the rollup must leave alone.
    Returns {plan id: plan number}."""
    made = Agency.objects.bulk_create(
        Agency(code=f"{prefix}{a:02d}", name=f"機關{a:02d}", kind=Agency.Kind.BUREAU) for a in range(agencies)
    )
    plans = ControlledPlan.objects.bulk_create(
        ControlledPlan(
            year=YEAR,
            code=f"P{i:04d}",
            agency=made[i // per_agency],
            title=f"計畫{i:04d}",
            budget=BUDGET,
            planned_progress=LINEAR,
            status=ControlledPlan.Status.IN_EXECUTION if i % 7 else ControlledPlan.Status.COMPLETED,
        )
        for i in range(agencies * per_agency)
    )
    # Not rolled up: a terminated and a registered plan of this year, and a plan of last year.
    others = ControlledPlan.objects.bulk_create(
        [
            ControlledPlan(year=YEAR, code="X-TERM", agency=made[0], title="終止", budget=BUDGET,
                           planned_progress=LINEAR, status=ControlledPlan.Status.TERMINATED),
            ControlledPlan(year=YEAR, code="X-REG", agency=made[0], title="未開始", budget=BUDGET,
                           planned_progress=LINEAR, status=ControlledPlan.Status.REGISTERED),
            ControlledPlan(year=YEAR - 1, code="P0000", agency=made[0], title="去年", budget=BUDGET,
                           planned_progress=LINEAR, status=ControlledPlan.Status.IN_EXECUTION),
        ]
    )  # fmt: skip
    reports = []
    for number, plan in [*enumerate(plans), *((0, p) for p in others)]:
        for spec in report_specs(number):
            reports.append(
                ProgressReport(
                    plan=plan,
                    year=plan.year,
                    month=spec["month"],
                    agency_id=plan.agency_id,
                    due_date=due_date(spec["month"]),
                    planned_percent=spec["planned"],
                    actual_percent=spec["actual"],
                    budget_executed=spec["budget_executed"],
                    lag_points=spec["lag_points"],
                    lagging=spec["lagging"],
                    submitted_at=spec["submitted_at"],
                    status=spec["status"],
                )
            )
    ProgressReport.objects.bulk_create(reports, batch_size=5000)
    return {plan.pk: i for i, plan in enumerate(plans)}


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER)


def start(round_id: int, officer) -> None:
    with transaction.atomic():
        appraisal_rollup_start(round_id=round_id, actor=officer)  # the group is sent when this commits


def round_status(round_id: int) -> str:
    return AppraisalRound.objects.values_list("status", flat=True).get(pk=round_id)


def logged(round_id: int, name: str) -> int:
    return TransitionLog.objects.filter(
        content_type__model="appraisalround", object_id=round_id, transition=name
    ).count()


def tasks_in(log: str, event: str) -> list[str]:
    """Ids of the rollup tasks the worker's log says were `event` (received, succeeded)."""
    return re.findall(rf"Task plan_control\.tasks\.rollup_agencies\[([0-9a-f-]+)\] {event}", log)


def test_the_fan_out_batches_whole_agencies_of_at_least_the_batch_size(make_user):
    sizes = [3, 1, 5, 2, 4]
    made = Agency.objects.bulk_create(
        Agency(code=f"RB{a}", name=f"分批{a}", kind=Agency.Kind.BUREAU) for a in range(len(sizes))
    )
    ControlledPlan.objects.bulk_create(
        ControlledPlan(year=YEAR, code=f"B{a}-{i}", agency=agency, title="計畫", budget=BUDGET,
                       planned_progress=LINEAR, status=ControlledPlan.Status.IN_EXECUTION)
        for a, agency in enumerate(made)
        for i in range(sizes[a])
    )  # fmt: skip
    plans = ControlledPlan.objects.filter(year=YEAR, agency__in=made)
    a = [agency.pk for agency in made]
    assert appraisal_selectors.rollup_batches(plans, batch_plans=4) == (15, [[a[0], a[1]], [a[2]], [a[3], a[4]]])
    assert appraisal_selectors.rollup_batches(plans, batch_plans=1) == (15, [[pk] for pk in a])
    assert appraisal_selectors.rollup_batches(plans, batch_plans=0) == (15, [[pk] for pk in a])
    assert appraisal_selectors.rollup_batches(plans, batch_plans=100) == (15, [a])
    assert appraisal_selectors.rollup_batches(plans.none(), batch_plans=4) == (0, [])


def test_rollup_through_the_worker_scores_every_plan_once_and_a_rerun_rewrites_the_same_rows(
    celery_worker, officer, settings
):
    settings.APPRAISAL_ROLLUP_BATCH_PLANS = 25  # two tasks: agencies 0-2 and 3-5, thirty plans each
    numbers = build_year()
    round_ = appraisal_round_create(actor=officer, year=YEAR)
    log_from = len(celery_worker.log)

    start(round_.pk, officer)
    wait_for(lambda: round_status(round_.pk) == AppraisalRound.Status.SELF_ASSESSMENT, message="self_assessment")
    assert len(tasks_in(celery_worker.log[log_from:], "succeeded")) == 2

    rows = {a.plan_id: a for a in Appraisal.objects.filter(round=round_)}
    assert sorted(rows) == sorted(numbers)  # every plan in execution or completed; not the others
    assert Appraisal.objects.count() == AGENCIES * PLANS_PER_AGENCY
    for plan_id, number in numbers.items():
        row = rows[plan_id]
        assert row.suggested_score == expected_score(report_specs(number)), f"plan {number}: {row.components}"
        assert row.agency_id == ControlledPlan.objects.get(pk=plan_id).agency_id
        assert row.status == Appraisal.Status.SUGGESTED
    by_number = {n: rows[pk] for pk, n in numbers.items()}
    # Worked by hand, so the test's own formula (expected_score) is pinned as well as the worker's:
    # Plan 0: on the curve (January 3 points ahead counts as lag 0), twelve reports the day before the deadline,
    # 100% done, the whole budget executed: progress 100, timeliness 100, completion 100, budget 100 -> 100.00.
    # Plan 7: 10 points behind (January 8.33: the planned 8.33 with nothing done); December returned, so 11
    # counted months, all lagging (>= 5), January and February late (7 % 5 = 2); 95% of the budget by December.
    # progress   = 100 - 5 x (8.33 + 10 x 10) / 11 - 2 x 11 = 100 - 49.2409 - 22 = 28.76
    # timeliness = 100 x (11 - 0.5 x 2) / 12 = 83.33
    # completion = November's 91.67 - 10 = 81.67 (not the returned December's 100)
    # budget     = rate 1,045,000 / 1,200,000 = 87.083% -> 87.083 / 90 x 100 = 96.76
    # score      = (40 x 28.76 + 20 x 83.33 + 25 x 81.67 + 15 x 96.76) / 100 = 6310.15 / 100 = 63.10
    # Plan 14: 6 points behind every month (all lagging); November pending and December never opened, so 10
    # counted months; 14 % 5 = 4 late months; 90% of the budget by December -> 75% by October.
    # progress = 100 - 5 x 6 - 2 x 10 = 50; timeliness = 100 x (10 - 0.5 x 4) / 12 = 66.67;
    # completion = October's 83.33 - 6 = 77.33; budget = 75 / 90 x 100 = 83.33;
    # score = (40 x 50 + 20 x 66.67 + 25 x 77.33 + 15 x 83.33) / 100 = 6516.60 / 100 = 65.17
    assert by_number[0].suggested_score == Decimal("100.00")
    assert by_number[7].suggested_score == Decimal("63.10")
    assert by_number[14].suggested_score == Decimal("65.17")
    assert by_number[7].components["months_missing"] == 1
    assert by_number[7].components["months_late"] == 2
    assert by_number[7].components["budget_flag"] is True
    round_.refresh_from_db()
    assert appraisal_selectors.rollup_progress(round_) == {"done": 60, "total": 60}
    assert logged(round_.pk, "finish_rollup") == 1

    # Rerun from self_assessment: the same rows, recomputed in place.
    first = {pk: (a.pk, a.suggested_score, a.components, a.computed_at) for pk, a in rows.items()}
    start(round_.pk, officer)
    wait_for(lambda: round_status(round_.pk) == AppraisalRound.Status.SELF_ASSESSMENT, message="rerun")
    again = {a.plan_id: a for a in Appraisal.objects.filter(round=round_)}
    assert Appraisal.objects.count() == len(first)
    assert {pk: (a.pk, a.suggested_score, a.components) for pk, a in again.items()} == {
        pk: v[:3] for pk, v in first.items()
    }
    assert all(again[pk].computed_at > first[pk][3] for pk in first)  # really recomputed
    round_.refresh_from_db()
    assert appraisal_selectors.rollup_progress(round_) == {"done": 60, "total": 60}
    assert logged(round_.pk, "start_rollup") == 2
    assert logged(round_.pk, "finish_rollup") == 2


def test_a_worker_killed_mid_rollup_has_its_task_redelivered_and_the_round_closes_once(
    celery_worker, officer, settings
):
    settings.APPRAISAL_ROLLUP_BATCH_PLANS = 20  # three tasks of two agencies each
    # A held task comes back after 4 s instead of an hour (the test settings sweep unacked messages every second).
    celery_worker.env["CELERY_VISIBILITY_TIMEOUT"] = "4"
    # A backend waiting for a lock does not notice that its client died unless told to check: without this, the
    # killed task's transaction would still commit once the lock is released (harmless, the upsert is
    # idempotent, but then the redelivery would not be needed to close the round).
    celery_worker.env["DATABASE_URL"] += "?options=-c%20client_connection_check_interval%3D200"
    celery_worker.stop()
    numbers = build_year()
    round_ = appraisal_round_create(actor=officer, year=YEAR)
    agency_ids = sorted(set(ControlledPlan.objects.filter(pk__in=numbers).values_list("agency_id", flat=True)))
    held = agency_ids[2]  # the second task (agencies 2 and 3) is caught before its upsert commits
    log_from = len(celery_worker.log)

    start(round_.pk, officer)  # three tasks wait in the queue, in agency order
    round_.refresh_from_db()
    with transaction.atomic():
        # FOR UPDATE on the agency row: the upsert's foreign-key check (FOR KEY SHARE, at commit: Django's
        # constraints are deferred) waits on it, so the second task hangs with its rows uncommitted.
        Agency.objects.select_for_update().get(pk=held)
        celery_worker.start()
        wait_for(
            lambda: appraisal_selectors.rollup_progress(round_)["done"] == 2 * PLANS_PER_AGENCY,
            message="the first task's two agencies done",
        )
        wait_for(lambda: waiting_on_a_lock() > 0, message="the second task to wait on the agency row")
        assert appraisal_selectors.rollup_progress(round_) == {"done": 20, "total": 60}  # some, not all
        celery_worker.kill()  # SIGKILL, pool included: the second task was never acknowledged
        wait_for(lambda: waiting_on_a_lock() == 0, seconds=10, message="the dead task's transaction to abort")
    assert round_status(round_.pk) == AppraisalRound.Status.ROLLING_UP
    # Rolled back with the kill, both agencies of the batch:
    assert not Appraisal.objects.filter(round=round_, agency_id__in=agency_ids[2:4]).exists()
    celery_worker.start()

    wait_for(
        lambda: round_status(round_.pk) == AppraisalRound.Status.SELF_ASSESSMENT,
        seconds=30,
        message="the redelivered task to close the round",
    )
    time.sleep(1)  # room for a wrong second close
    rows = list(Appraisal.objects.filter(round=round_))
    assert len(rows) == len({a.plan_id for a in rows}) == 60
    assert {a.plan_id for a in rows} == set(numbers)
    assert all(a.suggested_score == expected_score(report_specs(numbers[a.plan_id])) for a in rows)
    round_.refresh_from_db()
    assert appraisal_selectors.rollup_progress(round_) == {"done": 60, "total": 60}
    assert logged(round_.pk, "finish_rollup") == 1
    # The worker's log: the held task received twice (before the kill, then redelivered), succeeded once.
    log = celery_worker.log[log_from:]
    received, succeeded = tasks_in(log, "received"), tasks_in(log, "succeeded")
    assert len(received) == 3 + 1
    assert len(set(received)) == 3
    assert sorted(succeeded) == sorted(set(received))


def waiting_on_a_lock() -> int:
    """Sessions of this database waiting for a lock (the held task)."""
    with connection.cursor() as cursor:
        # PostgreSQL reads pg_stat_activity once per transaction and keeps that snapshot, and the caller polls
        # inside its transaction: without a fresh snapshot, a first look taken before the task reached its wait
        # would be all it ever sees.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
