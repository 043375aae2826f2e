"""年終考核 back office: the agencies' annual summary (with its ODS / XLSX download) and RDEC's appraisal round page
(rollup progress, the rollup / open-review / finalise buttons, the grade distribution).

Views read through plan_control.appraisal_selectors and write only through plan_control.appraisal_services. What
the user may not see is a 404, what they may not do a 403; a refused request comes back as a message.
"""

from __future__ import annotations

import tablib
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from proposals.exports import DEFAULT_FORMAT, FORMATS, ExportFile
from workflow_site.errors import ValidationFailed

from . import appraisal_selectors, appraisal_services, exports
from .models import AppraisalGrade, AppraisalRound
from .views import _require_rdec, _run, default_month, is_rdec


def _year(request) -> int:
    """`?year=` (ROC), defaulting to the year of last month; nonsense is a 400."""
    try:
        year = int(request.GET.get("year") or default_month()[0])
    except ValueError:
        year = 0
    if not 1 <= year <= 999:
        raise ValidationFailed(_("請輸入有效的年度。"), code="bad_year")
    return year


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
    """The summary as ODS (default, ODF-CNS15251) or XLSX, through plan_control.exports' safe writers; what the
    viewer may see only. 400 `unknown_format` for anything else."""
    fmt = (fmt or DEFAULT_FORMAT).lower()
    if fmt not in FORMATS:
        raise ValidationFailed(_("檔案格式須為 ods 或 xlsx。"), code="unknown_format")
    sheets = summary_books(appraisal_selectors.agency_summaries(year=year, viewer=viewer), year)
    content = exports._ods(sheets) if fmt == "ods" else exports._xlsx(sheets)
    return ExportFile(
        content=content,
        content_type=FORMATS[fmt],
        filename=_("%(year)d年度機關概況") % {"year": year} + f".{fmt}",
        ascii_filename=f"agency-summary-{year}.{fmt}",
    )


class AgencySummaryView(LoginRequiredMixin, View):
    """機關年度概況: every agency for RDEC staff, one's own agency otherwise. A constant number of queries."""

    template_name = "plan_control/appraisal_summaries.html"

    def get(self, request):
        try:
            year = _year(request)
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        rows = appraisal_selectors.agency_summaries(year=year, viewer=request.user)
        totals = {
            key: sum(row[key] for row in rows)
            for key in (
                "proposals_submitted",
                "proposals_awarded",
                "plans_in_control",
                "reports_expected",
                "reports_on_time",
                "reports_late",
                "reports_missing",
                "plans_lagging_year_end",
            )
        }
        finalised = bool(rows) and rows[0]["appraisal_grades"] is not None
        for row in rows:
            grades = row["appraisal_grades"]
            row["grade_cells"] = [grades[value] for value, _label in GRADES] if grades is not None else []
        context = {
            "year": year,
            "rows": rows,
            "totals": totals,
            "grades": GRADES,
            "finalised": finalised,
            "grade_totals": [sum(row["appraisal_grades"][v] for row in rows) for v, _l in GRADES] if finalised else [],
            "is_rdec": is_rdec(request.user),
        }
        return render(request, self.template_name, context)


class AgencySummaryExportView(LoginRequiredMixin, View):
    def get(self, request):
        try:
            year = _year(request)
            export = summary_export_file(viewer=request.user, year=year, fmt=request.GET.get("format"))
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        return export.as_response()


ROUND_ACTIONS = {
    "rollup": (
        gettext_lazy("彙整月報（產生建議分數）"),
        gettext_lazy("已開始彙整月報，完成後進入機關自評。"),
        appraisal_services.appraisal_rollup_start,
    ),
    "open-review": (
        gettext_lazy("結束自評，開始複核"),
        gettext_lazy("已結束機關自評，開始研考會複核。"),
        appraisal_services.appraisal_open_review,
    ),
    "finalize": (
        gettext_lazy("確定考核結果"),
        gettext_lazy("考核結果已確定。"),
        appraisal_services.appraisal_round_finalise,
    ),
}
ROUND_ACTION_STATES = {
    "rollup": {AppraisalRound.Status.OPEN, AppraisalRound.Status.ROLLING_UP, AppraisalRound.Status.SELF_ASSESSMENT},
    "open-review": {AppraisalRound.Status.SELF_ASSESSMENT},
    "finalize": {AppraisalRound.Status.REVIEW},
}


class AppraisalRoundView(LoginRequiredMixin, View):
    """One year's appraisal round for RDEC staff: status, rollup progress, actions, the grade distribution."""

    template_name = "plan_control/appraisal_round.html"

    def get(self, request, pk: int):
        _require_rdec(request.user)
        round_ = get_object_or_404(AppraisalRound, pk=pk)
        progress = appraisal_selectors.rollup_progress(round_)
        results = appraisal_selectors.round_results(round_)
        labels = dict(AppraisalGrade.choices)
        distribution = [{**row, "label": labels[row["grade"]]} for row in results["distribution"]]
        context = {
            "round": round_,
            "progress": progress,
            "distribution": distribution,
            "graded": sum(row["count"] for row in distribution),
            "actions": [
                {"name": name, "label": label}
                for name, (label, _done, _service) in ROUND_ACTIONS.items()
                if round_.status in ROUND_ACTION_STATES[name]
            ],
            "bands": [{**band, "label": labels.get(band["grade"], band["grade"])} for band in round_.grade_bands],
        }
        return render(request, self.template_name, context)


class AppraisalRoundActionView(LoginRequiredMixin, View):
    """POST rollup / open-review / finalize: the service runs; back to the round page with a message."""

    http_method_names = ["post"]

    def post(self, request, pk: int, name: str):
        if name not in ROUND_ACTIONS:
            raise Http404
        if not is_rdec(request.user):
            raise DjangoPermissionDenied(_("只有研考會同仁可以執行年終考核作業。"))
        get_object_or_404(AppraisalRound, pk=pk)
        _label, done, service = ROUND_ACTIONS[name]
        _run(request, lambda: service(round_id=pk, actor=request.user), str(done))
        return HttpResponseRedirect(reverse("plan_control:appraisal-round", args=[pk]))
