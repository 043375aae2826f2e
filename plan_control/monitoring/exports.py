"""The monthly analysis report (月分析報告) as a spreadsheet: ODS first (ODF-CNS15251), XLSX beside it.

Three sheets: 摘要 (the summary counts and percents), 各機關 (by agency) and 落後計畫 (the lagging plans with
their reasons and remedies). User text (titles, reasons, remedies, agency names) is always written as a text
cell, never as a formula, whatever it starts with: workflow_site.spreadsheets writes them.
"""

from __future__ import annotations

from decimal import Decimal

import tablib
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.roles import require_rdec_staff
from workflow_site.spreadsheets import DEFAULT_FORMAT, ExportFile, spreadsheet_bytes, spreadsheet_file

from . import selectors
from .imports import COLUMNS

__all__ = ["analysis_books", "analysis_export", "analysis_export_file", "import_template_file"]


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else Decimal("0.0")


def analysis_books(analysis: dict) -> list[tablib.Dataset]:
    """The three sheets of selectors.monthly_analysis's result, as tablib datasets (str = text cells)."""
    summary = tablib.Dataset(title=_("摘要"))
    summary.headers = [_("項目"), _("計畫數"), _("百分比（%）")]
    summary.append([_("總計"), analysis["total"], Decimal("100.0") if analysis["total"] else Decimal("0.0")])
    for key, label in (
        ("on_track", _("進度正常（含已完成）")),
        ("lagging", _("落後")),
        ("not_reported", _("未填報")),
    ):
        summary.append([label, analysis[key]["count"], analysis[key]["percent"]])
    summary.append([_("落後門檻（百分點）"), analysis["threshold"], None])

    agencies = tablib.Dataset(title=_("各機關"))
    agencies.headers = [
        _("機關代碼"),
        _("機關"),
        _("計畫數"),
        _("進度正常（含已完成）"),
        _("落後"),
        _("未填報"),
        _("落後比率（%）"),
    ]
    for row in analysis["by_agency"]:
        agencies.append(
            [
                str(row["agency_code"]),
                str(row["agency_name"]),
                row["total"],
                row["on_track"],
                row["lagging"],
                row["not_reported"],
                _percent(row["lagging"], row["total"]),
            ]
        )

    lagging = tablib.Dataset(title=_("落後計畫"))
    lagging.headers = [
        _("編號"),
        _("計畫名稱"),
        _("機關"),
        _("預定%"),
        _("實際%"),
        _("落後百分點"),
        _("落後原因"),
        _("因應對策"),
        _("連續落後月數"),
    ]
    for row in analysis["lagging_plans"]:
        lagging.append(
            [
                str(row["code"]),
                str(row["title"]),
                str(row["agency_name"]),
                row["planned_percent"],
                row["actual_percent"],
                row["lag_points"],
                str(row["lag_reason"] or ""),
                str(row["remedy"] or ""),
                row["consecutive_months"],
            ]
        )
    return [summary, agencies, lagging]


def analysis_export(year: int, month: int, fmt: str = DEFAULT_FORMAT) -> bytes:
    """The month's analysis report as `ods` (default) or `xlsx` bytes."""
    sheets = analysis_books(selectors.monthly_analysis(year=year, month=month))
    return spreadsheet_bytes(sheets, fmt, decimal_format="0.0#")


def analysis_export_file(*, viewer, year: int, month: int, fmt: str | None) -> ExportFile:
    """The download for RDEC staff (403 for others; 400 `unknown_format` for anything but ods / xlsx)."""
    require_rdec_staff(viewer)
    return spreadsheet_file(
        analysis_books(selectors.monthly_analysis(year=year, month=month)),
        fmt=fmt,
        filename=_("%(year)d年%(month)d月列管計畫分析") % {"year": year, "month": month},
        ascii_filename=f"plan-analysis-{year}-{month:02d}",
        decimal_format="0.0#",
    )


# The import's columns (imports.COLUMNS) as the officer reads them, for the template's notes and the error table.
IMPORT_COLUMN_LABELS = {
    "code": _lazy("計畫編號"),
    "agency_code": _lazy("主辦機關代碼"),
    "title": _lazy("計畫名稱"),
    "budget": _lazy("計畫預算（新臺幣元）"),
}
EXAMPLE_CURVE = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]


def import_column_meaning(column: str) -> str:
    """What an import column holds, in words ("" for a column the import does not read)."""
    if column in IMPORT_COLUMN_LABELS:
        return str(IMPORT_COLUMN_LABELS[column])
    if column.startswith("m") and column[1:].isdecimal() and 1 <= int(column[1:]) <= 12:
        return _("%(m)d月底預定累計進度（%%）") % {"m": int(column[1:])}
    return ""


def import_column_label(column: str) -> str:
    """ "budget（計畫預算（新臺幣元））": the header as typed in the sheet, and what it holds."""
    meaning = import_column_meaning(column)
    return f"{column}（{meaning}）" if meaning else column


def import_template_books(*, year: int, agency_code: str) -> list[tablib.Dataset]:
    """The plans sheet to fill in (the headers the import reads, one example row) and a sheet of notes. The import
    reads the first sheet only, so the notes never count as data."""
    plans = tablib.Dataset(title=_("列管計畫"))
    plans.headers = list(COLUMNS)
    example_title = _("鳳山溪整治工程（範例，請改為實際計畫）")
    plans.append([f"{year}-{agency_code}-01", agency_code, example_title, 120_000_000, *EXAMPLE_CURVE])
    notes = tablib.Dataset(title=_("填寫說明"))
    notes.headers = [_("欄位"), _("內容"), _("範例")]
    examples = {"code": f"{year}-{agency_code}-01", "agency_code": agency_code, "title": _("鳳山溪整治工程"),
                "budget": "120000000", **{f"m{m}": str(v) for m, v in enumerate(EXAMPLE_CURVE, start=1)}}  # fmt: skip
    for column in COLUMNS:
        notes.append([column, import_column_meaning(column), examples[column]])
    notes.append(["", _("第一列為欄位名稱，請勿修改；每列一項計畫。預定進度為 0 至 100 的累計百分比，逐月不減。"), ""])
    notes.append(["", _("預算為整數（新臺幣元），可含千分位逗號；計畫編號在同一年度不可重複。"), ""])
    notes.append(["", _("任一列有誤時整份檔案都不會匯入，頁面會列出每一列的錯誤。"), ""])
    return [plans, notes]


def import_template_file(*, year: int, agency_code: str, fmt: str | None) -> ExportFile:
    return spreadsheet_file(
        import_template_books(year=year, agency_code=agency_code),
        fmt=fmt,
        filename=_("列管計畫匯入範本"),
        ascii_filename="controlled-plans-template",
    )
