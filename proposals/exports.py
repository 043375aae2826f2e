"""A round's results as a spreadsheet: ODS first (ODF-CNS15251, the government's standard), XLSX beside it.

User text (titles, agency names) is always written as a text cell, never as a formula: a title such as
`=HYPERLINK("http://evil","x")` must reach the reader as those characters, not as a live link or a call.
Reviewers appear only as 委員A, 委員B, ... (ItemResult.reviewer_totals, anonymised when the panel finalised).
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

from reviews.models import ItemResult
from workflow_site.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed

from . import selectors
from .models import Grade, ProposalRound

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
    """Content negotiation that leaves `?format=` alone: the export action reads it as the file format (ods,
    xlsx) instead of DRF's renderer override, which would answer 404 for a format no renderer has. Errors
    still come back as JSON, chosen from the Accept header."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_TRIGGERS)


def _letter_key(letter: str) -> tuple[int, str]:
    # 委員A < ... < 委員Z < 委員AA: member order as reviews.selectors.member_letters names them.
    return (len(letter), letter)


def round_results_dataset(round_: ProposalRound) -> tablib.Dataset:
    """名次, 機關, 提案名稱, 委員A..., 總分, 等第 in rank order; a member's cell is blank where they were recused."""
    proposals = list(selectors.round_results(round_=round_))
    totals_by_proposal: dict[int, dict[str, Decimal]] = {}
    if round_.panel_id:
        for subject_id, reviewer_totals in ItemResult.objects.filter(
            panel_id=round_.panel_id, item__subject_id__in=[p.pk for p in proposals]
        ).values_list("item__subject_id", "reviewer_totals"):
            totals_by_proposal[subject_id] = {letter: Decimal(total) for letter, total in reviewer_totals}
    letters = sorted({letter for totals in totals_by_proposal.values() for letter in totals}, key=_letter_key)
    grade_labels = {value: str(label) for value, label in Grade.choices}

    dataset = tablib.Dataset(title=_("%(year)s年度評審結果") % {"year": round_.year})
    dataset.headers = [_("名次"), _("機關"), _("提案名稱"), *letters, _("總分"), _("等第")]
    for proposal in proposals:
        totals = totals_by_proposal.get(proposal.pk, {})
        dataset.append(
            [
                proposal.rank,
                proposal.agency.name,
                proposal.title,
                *(totals.get(letter) for letter in letters),
                proposal.score,
                grade_labels.get(proposal.grade, proposal.grade),
            ]
        )
    return dataset


def _ods(dataset: tablib.Dataset) -> bytes:
    # tablib's ODS writer decides a cell's type from the Python value: str -> office:value-type="string" with
    # the text in <text:p>, Decimal/int -> "float", None -> "void". It never writes table:formula, so text
    # starting with "=" stays text (tests/test_exports.py reads content.xml to hold it to that).
    return dataset.export("ods")


def _xlsx(dataset: tablib.Dataset) -> bytes:
    # Written with openpyxl directly rather than through tablib: openpyxl turns any str starting with "=" into
    # a formula cell, so every text cell's type is set explicitly after its value.
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = dataset.title[:31]
    bold = Font(bold=True)
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
                    cell.number_format = "0.00"
    sheet.freeze_panes = "A2"
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _set_text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = "s"  # never "f", whatever the text starts with
    if looks_like_formula(value):
        # Excel's "'" prefix: the cell stays text even after someone edits it and presses Enter.
        cell.quotePrefix = True


def export_round(round_: ProposalRound, fmt: str = DEFAULT_FORMAT) -> bytes:
    """The round's results as `ods` (default) or `xlsx` bytes."""
    dataset = round_results_dataset(round_)
    if fmt == "ods":
        return _ods(dataset)
    if fmt == "xlsx":
        return _xlsx(dataset)
    raise ValueError(f"unknown export format {fmt!r}")


def round_export_file(*, round_: ProposalRound, viewer, fmt: str | None) -> ExportFile:
    """The download for RDEC staff once the round is finalised: 403 for others, 409 `results_not_available`
    before finalising, 400 `unknown_format` for anything but ods / xlsx."""
    if not viewer.has_perm("proposals.finalise_round"):
        raise PermissionDenied()
    fmt = (fmt or DEFAULT_FORMAT).lower()
    if fmt not in FORMATS:
        raise ValidationFailed(_("檔案格式須為 ods 或 xlsx。"), code="unknown_format")
    if round_.finalised_at is None:
        raise TransitionNotAllowed(_("評審結果尚未確定。"), code="results_not_available")
    return ExportFile(
        content=export_round(round_, fmt),
        content_type=FORMATS[fmt],
        filename=_("%(year)s年度市政創新提案評審結果") % {"year": round_.year} + f".{fmt}",
        ascii_filename=f"proposal-results-{round_.year}.{fmt}",
    )
