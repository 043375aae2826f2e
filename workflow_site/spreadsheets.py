"""Spreadsheet downloads every process offers: ODS first (ODF-CNS15251, the government's standard), XLSX beside it.

A process builds its sheets as `tablib.Dataset`s (a str value is a text cell, a number a number cell, None an empty
cell) and hands them to `spreadsheet_file`, which checks the format, writes the bytes and names the download.

User text (titles, reasons, agency names) is always written as a text cell, never as a formula: a title such as
`=HYPERLINK("http://evil","x")` must reach the reader as those characters, not as a live link or a call.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import quote

import tablib
from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from rest_framework.negotiation import DefaultContentNegotiation

from .errors import ValidationFailed

FORMATS = {
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DEFAULT_FORMAT = "ods"
# What a spreadsheet program may read as the start of a formula (or DDE call) when a cell holds text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str  # 107年度市政創新提案評審結果.ods
    ascii_filename: str  # for clients that predate RFC 6266

    def content_disposition(self) -> str:
        """`attachment` with an ASCII fallback and the Chinese name as RFC 6266 / 5987 `filename*`."""
        return f"attachment; filename=\"{self.ascii_filename}\"; filename*=UTF-8''{quote(self.filename, safe='')}"

    def as_response(self) -> HttpResponse:
        response = HttpResponse(self.content, content_type=self.content_type)
        response["Content-Disposition"] = self.content_disposition()
        response["X-Content-Type-Options"] = "nosniff"
        return response


class IgnoreFormatQueryNegotiation(DefaultContentNegotiation):
    """Content negotiation that leaves `?format=` alone: an export action reads it as the file format (ods,
    xlsx) instead of DRF's renderer override, which would answer 404 for a format no renderer has. Errors
    still come back as JSON, chosen from the Accept header."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_TRIGGERS)


def export_format(fmt: str | None) -> str:
    """The requested format, `ods` when none is named; 400 `unknown_format` for anything but ods / xlsx."""
    fmt = (fmt or DEFAULT_FORMAT).lower()
    if fmt not in FORMATS:
        raise ValidationFailed(_("檔案格式須為 ods 或 xlsx。"), code="unknown_format")
    return fmt


def write_ods(sheets: list[tablib.Dataset]) -> bytes:
    # tablib's ODS writer types a cell from the Python value: str -> office:value-type="string" with the text in
    # <text:p>, numbers -> "float", None -> "void". It never writes table:formula, so text starting with "="
    # stays text (the apps' export tests read content.xml to hold it to that).
    return tablib.Databook(sheets).export("ods")


def _set_text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = "s"  # openpyxl would make any str starting with "=" a formula: never here
    if looks_like_formula(value):
        # Excel's "'" prefix: the cell stays text even after someone edits it and presses Enter.
        cell.quotePrefix = True


def write_xlsx(sheets: list[tablib.Dataset], *, decimal_format: str = "0.00") -> bytes:
    # Written with openpyxl directly rather than through tablib: openpyxl turns any str starting with "=" into
    # a formula cell, so every text cell's type is set explicitly after its value.
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for dataset in sheets:
        sheet = workbook.create_sheet(title=dataset.title[:31])
        for column, header in enumerate(dataset.headers, start=1):
            cell = sheet.cell(row=1, column=column)
            _set_text(cell, str(header))
            cell.font = bold
        for row_number, row in enumerate(dataset, start=2):
            for column, value in enumerate(row, start=1):
                cell = sheet.cell(row=row_number, column=column)
                if isinstance(value, str):
                    _set_text(cell, value)
                elif value is not None:
                    cell.value = value
                    if isinstance(value, Decimal):
                        cell.number_format = decimal_format
        sheet.freeze_panes = "A2"
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def spreadsheet_bytes(sheets: list[tablib.Dataset], fmt: str, *, decimal_format: str = "0.00") -> bytes:
    """The sheets as `ods` or `xlsx` bytes."""
    if fmt == "ods":
        return write_ods(sheets)
    if fmt == "xlsx":
        return write_xlsx(sheets, decimal_format=decimal_format)
    raise ValueError(f"unknown export format {fmt!r}")


def spreadsheet_file(
    sheets: list[tablib.Dataset], *, fmt: str | None, filename: str, ascii_filename: str, decimal_format: str = "0.00"
) -> ExportFile:
    """The download: the format checked (400 `unknown_format`), the bytes written, the names given their suffix.

    `filename` and `ascii_filename` come without the suffix (`107年度市政創新提案評審結果`, `proposal-results-107`).
    """
    fmt = export_format(fmt)
    return ExportFile(
        content=spreadsheet_bytes(sheets, fmt, decimal_format=decimal_format),
        content_type=FORMATS[fmt],
        filename=f"{filename}.{fmt}",
        ascii_filename=f"{ascii_filename}.{fmt}",
    )
