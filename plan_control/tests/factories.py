"""Builders for plan control tests: plans sheets in every format, plans in execution, filled-in reports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from plan_control.models import ControlledPlan, ProgressReport
from plan_control.monitoring import services
from plan_control.monitoring.imports import COLUMNS

YEAR = 115
LINEAR = [round(m * 100 / 12, 2) for m in range(1, 13)]  # 8.33, 16.67, ... 100


def agency_people(code: str):
    """An agency with a clerk and a head."""
    agency = AgencyFactory(code=code, name=f"{code}局")
    clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=agency, username=f"clerk_{code.lower()}")
    head = UserFactory(roles=[Role.AGENCY_HEAD], agency=agency, username=f"head_{code.lower()}")
    return agency, clerk, head


def sheet_rows(plans: list[dict]) -> list[list]:
    """Header + one row per plan dict (code, agency, title, budget, planned)."""
    rows = [list(COLUMNS)]
    for plan in plans:
        rows.append([plan["code"], plan["agency"], plan["title"], plan["budget"], *plan["planned"]])
    return rows


def csv_upload(rows: list[list], *, encoding: str = "utf-8-sig", name: str = "plans.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def sheet_upload(rows: list[list], fmt: str) -> SimpleUploadedFile:
    """An XLSX or ODS file of `rows` (the first is the header), built with tablib."""
    dataset = tablib.Dataset(*[tuple(r) for r in rows[1:]], headers=rows[0])
    data = dataset.export(fmt)
    return SimpleUploadedFile(f"plans.{fmt}", data if isinstance(data, bytes) else data.encode())


def plan_dict(code: str, agency_code: str, planned=None, *, budget=1_000_000, title=None) -> dict:
    return {
        "code": code,
        "agency": agency_code,
        "title": title or f"計畫{code}",
        "budget": budget,
        "planned": planned or LINEAR,
    }


def make_plans(officer, plans: list[dict], *, year: int = YEAR, start: bool = True) -> list[ControlledPlan]:
    """Import `plans` through the service (CSV) and start them."""
    services.plans_import(actor=officer, year=year, upload=csv_upload(sheet_rows(plans)))
    made = list(ControlledPlan.objects.filter(year=year, code__in=[p["code"] for p in plans]).order_by("code"))
    if start:
        for plan in made:
            services.plan_start(plan_id=plan.pk, actor=officer)
        made = list(ControlledPlan.objects.filter(pk__in=[p.pk for p in made]).order_by("code"))
    return made


def report_for(plan: ControlledPlan, month: int) -> ProgressReport:
    return ProgressReport.objects.get(plan=plan, month=month)


def fill_and_submit(
    clerk, report: ProgressReport, actual, *, budget: int = 100_000, reason: str = "", remedy: str = ""
) -> ProgressReport:
    services.report_update(
        actor=clerk,
        report_id=report.pk,
        actual_percent=Decimal(str(actual)),
        budget_executed=budget,
        lag_reason=reason,
        remedy=remedy,
    )
    return services.report_submit(actor=clerk, report_id=report.pk)
