"""A decided call's results as a spreadsheet (ODS first, XLSX beside it) through workflow_site.spreadsheets' safe
writers: one sheet per kind and degree, ranked. For RDEC staff (the applicants' names are in it)."""

from __future__ import annotations

from itertools import groupby

import tablib
from django.utils.translation import gettext as _

from workflow_site.errors import PermissionDenied, TransitionNotAllowed
from workflow_site.spreadsheets import ExportFile, export_format, spreadsheet_file

from . import selectors
from .errors import Code
from .models import ThesisApplication, ThesisCall


def results_by_track(call: ThesisCall) -> list[tuple]:
    """[(track, [application, ...] ranked)] for every track of the call: two queries."""
    ranked = {key: list(rows) for key, rows in groupby(selectors.call_results(call=call), lambda a: (a.kind, a.degree))}
    return [(track, ranked.get((track.kind, track.degree), [])) for track in call.tracks.order_by("kind", "degree")]


def call_results_datasets(call: ThesisCall) -> list[tablib.Dataset]:
    """名次, 論文題目, 申請人, 學校, 系所, 總分, 結果, 核定金額 per track."""
    states = dict(ThesisApplication.Status.choices)
    sheets = []
    for track, applications in results_by_track(call):
        dataset = tablib.Dataset(title=f"{track.get_degree_display()}{track.get_kind_display()}")
        dataset.headers = [
            _("名次"),
            _("論文題目"),
            _("申請人"),
            _("學校"),
            _("系所"),
            _("總分"),
            _("結果"),
            _("核定金額"),
        ]
        for a in applications:
            dataset.append(
                [
                    a.rank,
                    a.title,
                    str(a.applicant),
                    a.university,
                    a.department,
                    a.score,
                    str(states[a.status]),
                    a.amount,
                ]
            )
        sheets.append(dataset)
    return sheets


def check_results_readable(*, call: ThesisCall, viewer) -> None:
    """The results (names and scores) are for RDEC staff (403), once the call is decided (409
    `results_not_available`)."""
    if not viewer.has_perm("theses.decide_call"):
        raise PermissionDenied()
    if call.decided_at is None:
        raise TransitionNotAllowed(_("本年度尚未決定獲選名單。"), code=Code.RESULTS_NOT_AVAILABLE)


def call_results_file(*, call: ThesisCall, viewer, fmt: str | None) -> ExportFile:
    """The download, as `check_results_readable` allows; 400 `unknown_format` for anything but ods / xlsx."""
    if not viewer.has_perm("theses.decide_call"):
        raise PermissionDenied()
    fmt = export_format(fmt)
    check_results_readable(call=call, viewer=viewer)
    return spreadsheet_file(
        call_results_datasets(call),
        fmt=fmt,
        filename=_("%(year)s年度學位論文獎補助審查結果") % {"year": call.year},
        ascii_filename=f"thesis-results-{call.year}",
    )
