"""The balancing totals of the pre-budget review (綜合平衡) over 5,000 requests x 4 sources, against a bare GROUP BY
on the same table in the same run.

Builds a cycle directly (bulk_create, no services): 5,000 requests in 100 agencies, each with its requested,
recommended and approved amounts by source (public, fund, central, other); a realistic mix of states (most decided,
some recommended, a few drafts and withdrawn ones that do not count), and own ceilings for a fifth of the agencies.
Measured: `selectors.totals(cycle)` wall time (best of 5) and query count, and the bare `GROUP BY agency_id` of the
same twelve sums over the same rows (no join, no ceilings): the floor any board pays. Both are checked against each
other, agency by agency. Then the same at 500 requests: the query count must not change.
Target (issue 14): a constant number of queries; totals / bare <= 3.
Run: `.venv/bin/python bench/budget_totals.py [N]`.
"""

import datetime
import random
import sys
import time

from _setup import raw_delete, setup_django

setup_django()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Q, Sum  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Agency, User  # noqa: E402
from plan_control.budget import selectors  # noqa: E402
from plan_control.models import BudgetCeiling, BudgetCycle, BudgetRequest  # noqa: E402
from plan_control.models.budget import SOURCES  # noqa: E402

FISCAL_YEAR = 996  # a year nothing else uses
AGENCIES = 100
PREFIX = "BENCH_BT_"
CLERK = "bench.budget.clerk"
S = BudgetRequest.Status
STATES = [S.APPROVED, S.CUT, S.REJECTED, S.RECOMMENDED, S.IN_REVIEW, S.DRAFT, S.WITHDRAWN]
WEIGHTS = [40, 25, 10, 12, 5, 5, 3]


def cleanup() -> None:
    for cycle in BudgetCycle.objects.filter(fiscal_year=FISCAL_YEAR):
        raw_delete(BudgetCeiling.objects.filter(cycle=cycle))
        raw_delete(BudgetRequest.objects.filter(cycle=cycle))
        raw_delete(BudgetCycle.objects.filter(pk=cycle.pk))
    raw_delete(User.objects.filter(username=CLERK))
    raw_delete(Agency.objects.filter(code__startswith=PREFIX))


def build(n: int) -> BudgetCycle:
    rng = random.Random(n)
    agencies = Agency.objects.bulk_create(
        Agency(code=f"{PREFIX}{a:03d}", name=f"效能測試機關（先期作業）{a:03d}", kind=Agency.Kind.BUREAU)
        for a in range(AGENCIES)
    )
    clerk = User.objects.create(username=CLERK, agency=agencies[0])
    cycle = BudgetCycle.objects.create(
        fiscal_year=FISCAL_YEAR,
        public_ceiling=n * 40_000_000,
        fund_ceiling=n * 8_000_000,
        request_deadline=datetime.date(2026, 3, 31),
        meeting_start=datetime.date(2026, 5, 1),
        meeting_end=datetime.date(2026, 6, 30),
        balancing_date=datetime.date(2026, 7, 15),
        status=BudgetCycle.Status.BALANCING,
    )
    BudgetCeiling.objects.bulk_create(
        BudgetCeiling(cycle=cycle, agency=agencies[a], public=rng.randint(1, 5) * 10**9, fund=None)
        for a in range(0, AGENCIES, 5)
    )
    now = timezone.now()
    requests = []
    for k in range(n):
        status = rng.choices(STATES, WEIGHTS)[0]
        requested = {s: rng.choice([0, 0, 1, 2, 5]) * 10_000_000 for s in SOURCES}
        requested["public"] += 60_000_000
        total = sum(requested.values())
        reviewed = status in (S.RECOMMENDED, S.APPROVED, S.CUT, S.REJECTED)
        recommended = {s: v * rng.choice([6, 8, 10]) // 10 for s, v in requested.items()} if reviewed else {}
        granted = status in (S.APPROVED, S.CUT)
        approved = (
            {s: (v if status == S.APPROVED else v // 2) for s, v in recommended.items()}
            if granted
            else {s: 0 for s in SOURCES}
            if status == S.REJECTED
            else {}
        )
        requests.append(
            BudgetRequest(
                cycle=cycle,
                agency=agencies[k % AGENCIES],
                title=f"效能測試計畫 {k:05d}",
                kind=BudgetRequest.Kind.NEW_ANNUAL,
                years={str(FISCAL_YEAR): total},
                plan_total=total,
                total=total,
                status=status,
                submitted_at=None if status in (S.DRAFT, S.WITHDRAWN) else now,
                decided_at=now if status in (S.APPROVED, S.CUT, S.REJECTED) else None,
                created_by=clerk,
                **{f"requested_{s}": v for s, v in requested.items()},
                **{f"recommended_{s}": recommended.get(s) for s in SOURCES},
                **{f"approved_{s}": approved.get(s) for s in SOURCES},
            )
        )
    BudgetRequest.objects.bulk_create(requests, batch_size=2000)
    return cycle


def vacuum() -> None:
    """Fresh statistics and no dead rows left by an earlier run: outside any transaction."""
    with connection.cursor() as cursor:
        for model in (Agency, BudgetCeiling, BudgetRequest):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def bare(cycle: BudgetCycle) -> list[dict]:
    """The same twelve sums by agency over the same rows: no join to the agencies, no ceilings."""
    sums = {}
    for s in SOURCES:
        sums[f"requested_{s}"] = Coalesce(Sum(f"requested_{s}"), 0)
        sums[f"recommended_{s}"] = Coalesce(Sum(f"recommended_{s}"), 0)
        sums[f"approved_{s}"] = Coalesce(Sum(f"approved_{s}", filter=Q(status__in=selectors.GRANTED)), 0)
    return list(
        BudgetRequest.objects.filter(cycle_id=cycle.pk, status__in=selectors.IN_CYCLE)
        .values("agency_id")
        .annotate(n=Count("pk"), **sums)
        .order_by()
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
            cycle = build(n)
        vacuum()
        print(
            f"setup: {n:,} requests x {len(SOURCES)} sources in {AGENCIES} agencies "
            f"in {time.perf_counter() - start:.1f} s"
        )
        totals_s, totals_q, totals = best_of(lambda: selectors.totals(cycle=cycle))
        bare_s, bare_q, grouped = best_of(lambda: bare(cycle))
        by_agency = {
            a["agency_id"]: (
                a["count"],
                *(a[stage][s] for s in SOURCES for stage in ("requested", "recommended", "approved")),
            )
            for a in totals["agencies"]
            if a["count"]
        }
        floor = {
            r["agency_id"]: (
                r["n"],
                *(r[f"{stage}_{s}"] for s in SOURCES for stage in ("requested", "recommended", "approved")),
            )
            for r in grouped
        }
        assert by_agency == floor, "totals and the bare GROUP BY disagree"
        overall = totals["overall"]
        print(
            f"  selectors.totals: {totals_s * 1000:.1f} ms, {totals_q} queries; {overall['count']:,} requests counted, "
            f"requested {overall['requested']['total']:,}, approved {overall['approved']['total']:,}, "
            f"{len(totals['agencies'])} agencies, {sum(1 for a in totals['agencies'] if a['over_ceiling'])} over "
            "their ceiling"
        )
        print(f"  bare GROUP BY:    {bare_s * 1000:.1f} ms, {bare_q} query")
        ratio = totals_s / bare_s
        print(f"  ratio totals / bare = {ratio:.2f} (target <= 3 -> {'met' if ratio <= 3 else 'NOT met'})")
        return totals_q
    finally:
        cleanup()


def main(n: int) -> None:
    big = measure(n)
    small = measure(n // 10)
    print(f"query count at {n:,} requests: {big}; at {n // 10:,}: {small} -> {'constant' if big == small else 'GROWS'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
