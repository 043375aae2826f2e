"""A cycle's results (先期作業審查結果) as a spreadsheet: ODS first (ODF-CNS15251), XLSX beside it.

Three sheets: 總表 (per source: requested, recommended, approved, ceiling), 各機關 (per agency and source) and 計畫
(each request at RDEC with its amounts and decision). User text (titles, agency names, notes) is written as text
cells, never as formulas, whatever it starts with: workflow_site.spreadsheets writes them.
"""

from __future__ import annotations

import tablib
from django.utils.translation import gettext as _

from accounts.roles import require_rdec_staff
from workflow_site.spreadsheets import ExportFile, spreadsheet_file

from ..models import BudgetCycle
from ..models.budget import CEILING_SOURCES, SOURCES, Source
from . import selectors

__all__ = ["results_books", "results_export_file"]

STAGES = ("requested", "recommended", "approved")


def _stage_label(stage: str) -> str:
    return {"requested": _("申請"), "recommended": _("初審建議"), "approved": _("核定")}[stage]


def results_books(totals: dict, requests) -> list[tablib.Dataset]:
    """The sheets of selectors.totals's result and the cycle's requests at RDEC (str = text cells)."""
    summary = tablib.Dataset(title=_("總表"))
    summary.headers = [_("經費來源"), _("申請"), _("初審建議"), _("核定"), _("額度"), _("超過額度")]
    overall = totals["overall"]
    for source in [*SOURCES, "total"]:
        ceiling = overall["ceiling"].get(source) if source in CEILING_SOURCES else None
        summary.append(
            [
                str(Source(source).label) if source != "total" else _("合計"),
                overall["requested"][source],
                overall["recommended"][source],
                overall["approved"][source],
                ceiling,
                _("是") if source in overall["over_ceiling"] else "",
            ]
        )

    agencies = tablib.Dataset(title=_("各機關"))
    agencies.headers = [
        _("機關代碼"),
        _("機關"),
        _("件數"),
        *(f"{_stage_label(stage)}{Source(s).label}" for stage in STAGES for s in SOURCES),
        _("申請合計"),
        _("核定合計"),
        _("超過額度"),
    ]
    for row in totals["agencies"]:
        agencies.append(
            [
                str(row["code"]),
                str(row["name"]),
                row["count"],
                *(row[stage][s] for stage in STAGES for s in SOURCES),
                row["requested"]["total"],
                row["approved"]["total"],
                "、".join(str(Source(s).label) for s in row["over_ceiling"]),
            ]
        )

    plans = tablib.Dataset(title=_("計畫"))
    plans.headers = [
        _("編號"),
        _("機關"),
        _("計畫名稱"),
        _("計畫類別"),
        _("狀態"),
        _("申請總額"),
        _("核定總額"),
        _("報中央審議"),
        _("核定說明"),
    ]
    for request in requests:
        approved = [getattr(request, f"approved_{s}") for s in SOURCES]
        plans.append(
            [
                request.pk,
                str(request.agency.name),
                str(request.title),
                str(request.get_kind_display()),
                str(request.get_status_display()),
                request.total,
                None if all(a is None for a in approved) else sum(a or 0 for a in approved),
                _("是") if request.central_review else "",
                str(request.decision_note or ""),
            ]
        )
    return [summary, agencies, plans]


def results_export_file(*, viewer, cycle: BudgetCycle, fmt: str | None) -> ExportFile:
    """The download for RDEC staff (403 for others; 400 `unknown_format` for anything but ods / xlsx)."""
    require_rdec_staff(viewer)
    requests = selectors.request_list(viewer=viewer, cycle_id=cycle.pk).filter(status__in=selectors.IN_CYCLE)
    return spreadsheet_file(
        results_books(selectors.totals(cycle=cycle), requests),
        fmt=fmt,
        filename=_("%(year)d年度先期作業審查結果") % {"year": cycle.fiscal_year},
        ascii_filename=f"budget-results-{cycle.fiscal_year}",
    )
