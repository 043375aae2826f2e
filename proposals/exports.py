"""A round's results as a spreadsheet (ODS first, XLSX beside it) through workflow_site.spreadsheets' safe writers.

Reviewers appear only as 委員A, 委員B, ... (ItemResult.reviewer_totals, anonymised when the panel finalised).
"""

from __future__ import annotations

from decimal import Decimal

import tablib
from django.utils.translation import gettext as _

from reviews.models import ItemResult
from workflow_site.errors import PermissionDenied, TransitionNotAllowed
from workflow_site.spreadsheets import DEFAULT_FORMAT, ExportFile, export_format, spreadsheet_bytes, spreadsheet_file

from . import selectors
from .errors import Code
from .models import Grade, ProposalRound


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


def export_round(round_: ProposalRound, fmt: str = DEFAULT_FORMAT) -> bytes:
    """The round's results as `ods` (default) or `xlsx` bytes."""
    return spreadsheet_bytes([round_results_dataset(round_)], fmt)


def round_export_file(*, round_: ProposalRound, viewer, fmt: str | None) -> ExportFile:
    """The download for RDEC staff once the round is finalised: 403 for others, 409 `results_not_available`
    before finalising, 400 `unknown_format` for anything but ods / xlsx."""
    if not viewer.has_perm("proposals.finalise_round"):
        raise PermissionDenied()
    fmt = export_format(fmt)
    if round_.finalised_at is None:
        raise TransitionNotAllowed(_("評審結果尚未確定。"), code=Code.RESULTS_NOT_AVAILABLE)
    return spreadsheet_file(
        [round_results_dataset(round_)],
        fmt=fmt,
        filename=_("%(year)s年度市政創新提案評審結果") % {"year": round_.year},
        ascii_filename=f"proposal-results-{round_.year}",
    )
