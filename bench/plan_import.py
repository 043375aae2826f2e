"""Importing a year's 10,000 controlled plans through `services.plans_import`, against a bare bulk_create.

The upload is an in-memory UTF-8 CSV (the columns of plan_control/monitoring/imports.py) of 10,000 valid rows over 200
agencies that exist; the import reads it, validates every row (all or nothing), and writes with COPY on
PostgreSQL. In the same run, the same 10,000 rows go in through a bare `ControlledPlan.objects.bulk_create`
(model instances built from already-parsed values: no reading, no validation). The year's plans are deleted
between the runs and after. Each is run 3 times; the best is kept.
Target: import rows/s >= 0.5 x bulk_create rows/s.
Run: `.venv/bin/python bench/plan_import.py [N]`.
"""

import csv
import io
import random
import sys
import time

from _setup import raw_delete, setup_django

setup_django()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Agency, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from plan_control.models import ControlledPlan, ControlYear  # noqa: E402
from plan_control.monitoring import services  # noqa: E402
from plan_control.monitoring.imports import COLUMNS  # noqa: E402

YEAR = 998  # a year nothing else uses
AGENCIES = 200
PREFIX = "BENCH_PI_"
OFFICER = "bench.pi.officer"
RUNS = 3
TITLES = ["{}區道路拓寬工程", "{}區公有市場改建工程", "{}國民運動中心新建工程", "{}區雨水下水道建設計畫"]
DISTRICTS = ["前鎮", "鳳山", "岡山", "苓雅", "三民", "左營", "楠梓", "小港", "鼓山", "旗津"]


def cleanup_year() -> None:
    raw_delete(ControlledPlan.objects.filter(year=YEAR))


def cleanup() -> None:
    cleanup_year()
    ControlYear.objects.filter(year=YEAR).delete()
    raw_delete(Agency.objects.filter(code__startswith=PREFIX))
    User.objects.filter(username=OFFICER).delete()


def curve(rng: random.Random) -> list[float]:
    return [*sorted(round(rng.uniform(0, 100), 1) for _ in range(11)), 100.0]


def data(n: int) -> tuple[list[tuple], bytes]:
    """The rows (code, agency code, title, budget, curve) and the same as a CSV file's bytes."""
    rng = random.Random(n)
    rows = [
        (
            f"{YEAR}-{k:05d}",
            f"{PREFIX}{k % AGENCIES:03d}",
            TITLES[k % len(TITLES)].format(DISTRICTS[k % len(DISTRICTS)]) + f"（第{k // 40 + 1}期）",
            rng.randint(3_000_000, 9_000_000_000),
            curve(rng),
        )
        for k in range(n)
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for code, agency, title, budget, planned in rows:
        writer.writerow([code, agency, title, f"{budget:,}", *planned])
    return rows, out.getvalue().encode("utf-8")


def main(n: int) -> None:
    cleanup()
    try:
        Agency.objects.bulk_create(
            Agency(code=f"{PREFIX}{a:03d}", name=f"效能測試機關 {a:03d}", kind=Agency.Kind.BUREAU)
            for a in range(AGENCIES)
        )
        officer = User.objects.create(username=OFFICER)
        officer.groups.set([Group.objects.get_or_create(name=Role.RDEC_OFFICER)[0]])
        officer = User.objects.get(pk=officer.pk)
        rows, payload = data(n)
        print(f"upload: {n:,} rows over {AGENCIES} agencies, CSV {len(payload) / 1024 / 1024:.1f} MB")

        import_s = float("inf")
        for _ in range(RUNS):
            upload = ContentFile(payload, name="plans.csv")
            start = time.perf_counter()
            written = services.plans_import(actor=officer, year=YEAR, upload=upload)
            import_s = min(import_s, time.perf_counter() - start)
            assert written == n == ControlledPlan.objects.filter(year=YEAR).count()
            cleanup_year()

        agencies = dict(Agency.objects.filter(code__startswith=PREFIX).values_list("code", "pk"))
        bulk_s = float("inf")
        for _ in range(RUNS):
            start = time.perf_counter()
            with transaction.atomic():
                now = timezone.now()
                ControlledPlan.objects.bulk_create(
                    [
                        ControlledPlan(
                            year=YEAR,
                            code=code,
                            agency_id=agencies[agency],
                            title=title,
                            budget=budget,
                            planned_progress=planned,
                            status=ControlledPlan.Status.REGISTERED,
                            created_at=now,
                        )
                        for code, agency, title, budget, planned in rows
                    ],
                    batch_size=2000,
                )
            bulk_s = min(bulk_s, time.perf_counter() - start)
            assert ControlledPlan.objects.filter(year=YEAR).count() == n
            cleanup_year()

        ratio = bulk_s / import_s  # = import rows/s / bulk_create rows/s
        print(f"plans_import (read + validate + COPY): {import_s:.3f} s = {n / import_s:,.0f} rows/s")
        print(f"bare bulk_create:                      {bulk_s:.3f} s = {n / bulk_s:,.0f} rows/s")
        print(f"ratio import / bulk_create = {ratio:.2f} (target >= 0.5 -> {'met' if ratio >= 0.5 else 'NOT met'})")
    finally:
        cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
