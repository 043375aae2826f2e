"""The monthly analysis (月分析報告) over 10,000 controlled plans, against a bare GROUP BY in the same run.

Builds a year directly (bulk_create for the plans, COPY for the reports, no services): 10,000 plans in 200
agencies, 12 months of reports each (120,000 rows): months 1-11 mostly accepted, month 12 a realistic mix of
accepted / submitted / returned / pending; about a third lagging, some of them for months in a row.
Since the year is written around the services, the monthly tally (plan_control.monitoring.tally: per year, month and
agency, the plans in control and the month's lagging / on-track reports, which the services keep in step with
each write) is then rebuilt once with `monthly_tally_rebuild(year)`, whose wall time is printed: it is what
repairing a year written by COPY costs, and what a live count of the whole year costs. The analysis reads its
counts from that tally and its lagging list from the reports.
Measured: `selectors.monthly_analysis(year, 12)` wall time (best of 5) and query count, and the bare
`GROUP BY agency` count of the same month's reports (total, on track, lagging): the floor any analysis pays.
Both are checked against each other, agency by agency (every plan in the bench is in control and has its
month-12 slot, so the bare count of an agency's reports is its live count of plans).
Then the same at 1,000 plans: the query count must not change.
Target (DESIGN.md, "Data and scale"): a constant number of queries; analysis / bare <= 3.
Run: `.venv/bin/python bench/monthly_analysis.py [N]`.
"""

import datetime
import random
import sys
import time
from decimal import Decimal

from _setup import raw_delete, setup_django

setup_django()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Agency  # noqa: E402
from plan_control.models import ControlledPlan, ControlYear, MonthlyTally, ProgressReport  # noqa: E402
from plan_control.monitoring import selectors  # noqa: E402
from plan_control.monitoring.tally import monthly_tally_rebuild  # noqa: E402
from workflow_site.bulk import copy_rows  # noqa: E402

YEAR = 997  # a year nothing else uses
MONTH = 12
AGENCIES = 200
PREFIX = "BENCH_MA_"
COUNTED = (ProgressReport.Status.SUBMITTED, ProgressReport.Status.ACCEPTED)
REPORT_FIELDS = [
    "plan",
    "year",
    "month",
    "agency",
    "due_date",
    "planned_percent",
    "actual_percent",
    "budget_executed",
    "narrative",
    "lag_reason",
    "remedy",
    "lag_points",
    "lagging",
    "consecutive_lagging",
    "return_reason",
    "status",
    "submitted_at",
    "opened_at",
]


def cleanup() -> None:
    raw_delete(MonthlyTally.objects.filter(year=YEAR))
    raw_delete(ProgressReport.objects.filter(year=YEAR))
    raw_delete(ControlledPlan.objects.filter(year=YEAR))
    ControlYear.objects.filter(year=YEAR).delete()
    raw_delete(Agency.objects.filter(code__startswith=PREFIX))


def curve(rng: random.Random) -> list[float]:
    steps = sorted(round(rng.uniform(0, 100), 1) for _ in range(11))
    return [*steps, 100.0]


def build(n: int) -> None:
    rng = random.Random(n)
    ControlYear.objects.create(year=YEAR)
    agencies = Agency.objects.bulk_create(
        Agency(code=f"{PREFIX}{a:03d}", name=f"效能測試機關 {a:03d}", kind=Agency.Kind.BUREAU) for a in range(AGENCIES)
    )
    now = timezone.now()
    plans = ControlledPlan.objects.bulk_create(
        (
            ControlledPlan(
                year=YEAR,
                code=f"{YEAR}-{k:05d}",
                agency=agencies[k % AGENCIES],
                title=f"效能測試計畫 {k:05d}",
                budget=rng.randint(3_000_000, 5_000_000_000),
                planned_progress=curve(rng),
                status=ControlledPlan.Status.COMPLETED if k % 20 == 0 else ControlledPlan.Status.IN_EXECUTION,
            )
            for k in range(n)
        ),
        batch_size=5000,
    )
    rows = []
    for plan in plans:
        behind = rng.random() < 0.35  # lags from some month on
        lag_from = rng.randint(1, 12) if behind else 13
        consecutive = 0
        for month in range(1, 13):
            planned = Decimal(str(plan.planned_progress[month - 1]))
            if month < MONTH:
                status = rng.choices(["accepted", "submitted", "returned", "pending"], [90, 5, 2, 3])[0]
            else:
                status = rng.choices(["accepted", "submitted", "returned", "pending"], [60, 25, 5, 10])[0]
            lag = Decimal(rng.randint(50, 300)) / 10 if month >= lag_from else Decimal(rng.randint(0, 40)) / 10
            actual = max(Decimal(0), planned - lag)
            reported = status != "pending"
            lagging = reported and actual < 100 and lag >= 5
            consecutive = consecutive + 1 if lagging else 0
            due = datetime.date(2026, 1, 10) if month == 12 else datetime.date(2025, month + 1, 10)
            rows.append(
                (
                    plan.pk,
                    YEAR,
                    month,
                    plan.agency_id,
                    due,
                    planned,
                    actual if reported else None,
                    int(plan.budget * actual / 100) if reported else None,
                    "依進度執行" if reported else "",
                    "用地取得延宕" if lagging else "",
                    "加速協調" if lagging else "",
                    planned - actual if reported else None,
                    lagging,
                    consecutive,
                    "數字不符" if status == "returned" else "",
                    status,
                    now if reported else None,
                    now,
                )
            )
    copy_rows(ProgressReport, REPORT_FIELDS, rows)


def vacuum(*models) -> None:
    """Fresh statistics and no dead rows left by an earlier run: outside any transaction."""
    with connection.cursor() as cursor:
        for model in models or (Agency, ControlledPlan, ProgressReport, MonthlyTally):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def bare() -> list[dict]:
    return list(
        ProgressReport.objects.filter(year=YEAR, month=MONTH)
        .values("agency_id")
        .annotate(
            n_total=Count("pk"),
            n_lagging=Count("pk", filter=Q(status__in=COUNTED, lagging=True)),
            n_on_track=Count("pk", filter=Q(status__in=COUNTED, lagging=False)),
        )
        .order_by("agency_id")
    )


def best_of(fn, times: int = 5) -> tuple[float, int, object]:
    best, queries, result = float("inf"), 0, None
    for _ in range(times):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
        best, queries = min(best, elapsed), len(ctx.captured_queries)
    return best, queries, result


def measure(n: int) -> int:
    cleanup()
    try:
        start = time.perf_counter()
        with transaction.atomic():
            build(n)
        vacuum()
        print(f"setup: {n:,} plans in {AGENCIES} agencies, {n * 12:,} reports in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        rows = monthly_tally_rebuild(year=YEAR)
        print(f"  tally rebuild for the year: {(time.perf_counter() - start) * 1000:.0f} ms ({rows:,} rows)")
        vacuum(MonthlyTally)
        analysis_s, analysis_q, analysis = best_of(lambda: selectors.monthly_analysis(year=YEAR, month=MONTH))
        bare_s, bare_q, grouped = best_of(bare)
        totals = {k: sum(r[f"n_{k}"] for r in grouped) for k in ("total", "on_track", "lagging")}
        assert analysis["total"] == totals["total"]  # every plan in control has its slot for the month
        assert (analysis["on_track"]["count"], analysis["lagging"]["count"]) == (totals["on_track"], totals["lagging"])
        live = {r["agency_id"]: (r["n_total"], r["n_on_track"], r["n_lagging"]) for r in grouped}
        assert {r["agency"]: (r["total"], r["on_track"], r["lagging"]) for r in analysis["by_agency"]} == live
        print(
            f"  monthly_analysis: {analysis_s * 1000:.1f} ms, {analysis_q} queries; "
            f"total {analysis['total']:,}, on track {analysis['on_track']['count']:,}, "
            f"lagging {analysis['lagging']['count']:,} (listed {len(analysis['lagging_plans']):,}), "
            f"not reported {analysis['not_reported']['count']:,}, {len(analysis['by_agency'])} agencies"
        )
        with CaptureQueriesContext(connection) as ctx:
            selectors.monthly_analysis(year=YEAR, month=MONTH)
        print(
            "  its queries (database time, ms): "
            + ", ".join(f"{float(q['time']) * 1000:.1f}" for q in ctx.captured_queries)
        )
        ratio = analysis_s / bare_s
        print(f"  bare GROUP BY:    {bare_s * 1000:.1f} ms, {bare_q} query")
        print(f"  ratio analysis / bare = {ratio:.2f} (target <= 3 -> {'met' if ratio <= 3 else 'NOT met'})")
        return analysis_q
    finally:
        cleanup()


def main(n: int) -> None:
    big = measure(n)
    small = measure(n // 10)
    print(f"query count at {n:,} plans: {big}; at {n // 10:,}: {small} -> {'constant' if big == small else 'GROWS'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
