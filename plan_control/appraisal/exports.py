"""機關年度概況 (the agencies' annual summary) as a spreadsheet: ODS first (ODF-CNS15251), XLSX beside it. Agency
names are always written as text cells, never as formulas: workflow_site.spreadsheets writes them."""

from __future__ import annotations

import tablib
from django.utils.translation import gettext as _

from workflow_site.spreadsheets import ExportFile, export_format, spreadsheet_file

from ..models import AppraisalGrade
from . import selectors

GRADES = [(g.value, g.label) for g in AppraisalGrade]


def summary_books(rows: list[dict], year: int) -> list[tablib.Dataset]:
    """One sheet, one row per agency (str = text cells: agency names are never formulas)."""
    sheet = tablib.Dataset(title=_("%(year)d年度機關概況") % {"year": year})
    sheet.headers = [
        _("機關代碼"),
        _("機關"),
        _("提案送件數"),
        _("提案獲獎數"),
        _("列管計畫數"),
        _("應填月報數"),
        _("月報準時"),
        _("月報逾期"),
        _("月報未填"),
        _("年底落後計畫數"),
        *[str(label) for _value, label in GRADES],
    ]
    for row in rows:
        grades = row["appraisal_grades"]
        sheet.append(
            [
                str(row["agency_code"]),
                str(row["agency_name"]),
                row["proposals_submitted"],
                row["proposals_awarded"],
                row["plans_in_control"],
                row["reports_expected"],
                row["reports_on_time"],
                row["reports_late"],
                row["reports_missing"],
                row["plans_lagging_year_end"],
                *[grades[value] if grades is not None else None for value, _label in GRADES],
            ]
        )
    return [sheet]


def summary_export_file(*, viewer, year: int, fmt: str | None) -> ExportFile:
    """The summary as ODS (default, ODF-CNS15251) or XLSX, through workflow_site.spreadsheets' safe writers; what
    the viewer may see only. 400 `unknown_format` for anything else."""
    fmt = export_format(fmt)
    return spreadsheet_file(
        summary_books(selectors.agency_summaries(year=year, viewer=viewer), year),
        fmt=fmt,
        filename=_("%(year)d年度機關概況") % {"year": year},
        ascii_filename=f"agency-summary-{year}",
        decimal_format="0.0#",
    )
