"""列管計畫 back office: the monthly board (with its chart, exports and printable report), and the monthly
progress reports (the agency fills in and submits; RDEC accepts or returns).

Views read through the package's selectors and write only through its services. What the user may not see is a
404, what they may not do a 403; a refused request comes back as a message or as form errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from accounts.roles import is_rdec_staff
from accounts.selectors import agency_list
from workflow_site.actions import Action, ActionTable, TransitionPostView
from workflow_site.errors import PermissionDenied as AppPermissionDenied
from workflow_site.errors import ValidationFailed
from workflow_site.selectors import transition_history
from workflow_site.transitions import available_transitions
from workflow_site.views import run_service

from ..models import ControlledPlan, ProgressReport
from . import exports, selectors, services
from .errors import Code
from .forms import BoardFilterForm, PlanFilterForm, PlanImportForm, ReportFilterForm, ReportForm, ReturnForm


def _year_month(request) -> tuple[int, int]:
    """`?year=&month=` (ROC), defaulting to last month; nonsense is a 400."""
    default_year, default_month_ = selectors.default_month()
    try:
        year = int(request.GET.get("year") or default_year)
        month = int(request.GET.get("month") or default_month_)
    except ValueError:
        year = month = 0
    if not (1 <= year <= 999 and 1 <= month <= 12):
        raise ValidationFailed(_("請輸入有效的年度與月份。"), code=Code.BAD_MONTH)
    return year, month


# ---------------------------------------------------------------- the monthly board

LIGHTS = {
    "green": gettext_lazy("正常"),
    "red": gettext_lazy("落後"),
    "grey": gettext_lazy("未填報"),
}


@dataclass(frozen=True)
class BoardRow:
    plan: ControlledPlan
    report_id: int | None
    status_label: str
    planned: object
    actual: object
    lag_points: object
    light: str

    @property
    def light_label(self) -> str:
        return str(LIGHTS[self.light])


def _board_row(plan: ControlledPlan, month: int, status_labels: dict) -> BoardRow:
    reported = plan.report_status in selectors.COUNTED
    light = ("red" if plan.report_lagging else "green") if reported else "grey"
    return BoardRow(
        plan=plan,
        report_id=plan.report_id,
        status_label=str(status_labels.get(plan.report_status, _("未開啟月報"))),
        planned=plan.report_planned if plan.report_planned is not None else plan.planned_for(month),
        actual=plan.report_actual if reported else None,
        lag_points=plan.report_lag if reported else None,
        light=light,
    )


CHART = {"width": 720, "height": 260, "left": 48, "right": 12, "top": 24, "bottom": 36}


def lagging_chart(rows: list[dict], *, month: int) -> dict:
    """Geometry of the lagging-share bar chart (12 months), computed here so the template only draws it."""
    by_month = {row["month"]: row for row in rows}
    highest = max([0.0, *(float(row["percent"]) for row in rows)])
    step = 10 if highest <= 50 else 20
    top = max(step, math.ceil(highest / step) * step)
    plot_w = CHART["width"] - CHART["left"] - CHART["right"]
    plot_h = CHART["height"] - CHART["top"] - CHART["bottom"]
    slot = plot_w / 12
    bars = []
    for m in range(1, 13):
        row = by_month.get(m)
        percent = float(row["percent"]) if row else 0.0
        height = plot_h * percent / top
        x = CHART["left"] + slot * (m - 1)
        bars.append(
            {
                "month": m,
                "row": row,
                "current": m == month,
                "x": round(x + slot * 0.2, 1),
                "width": round(slot * 0.6, 1),
                "y": round(CHART["top"] + plot_h - height, 1),
                "height": round(height, 1),
                "label_x": round(x + slot / 2, 1),
                "value_y": round(CHART["top"] + plot_h - height - 4, 1),
            }
        )
    ticks = [{"value": v, "y": round(CHART["top"] + plot_h - plot_h * v / top, 1)} for v in range(0, top + 1, step)]
    return {
        **CHART,
        "bars": bars,
        "ticks": ticks,
        "axis_y": CHART["top"] + plot_h,
        "axis_right": CHART["width"] - CHART["right"],
        "month_label_y": CHART["top"] + plot_h + 20,
        "rows": [by_month.get(m) for m in range(1, 13)],
    }


class BoardView(LoginRequiredMixin, View):
    """The month's plans with traffic lights; RDEC staff also see the analysis summary, the year's chart of the
    lagging share and the exports. A constant number of queries, whatever the number of plans."""

    template_name = "plan_control/board.html"

    def get(self, request):
        user = request.user
        try:
            year, month = _year_month(request)
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        rdec = is_rdec_staff(user)
        agencies = agency_list().filter(pk__in=selectors.plan_list(viewer=user).filter(year=year).values("agency_id"))
        data = request.GET.copy()
        data.setdefault("year", str(year))
        data.setdefault("month", str(month))
        form = BoardFilterForm(data, agencies=agencies)
        agency, lagging_only = None, False
        if form.is_valid():
            agency, lagging_only = form.cleaned_data["agency"], form.cleaned_data["lagging_only"]
        status_labels = dict(ProgressReport.Status.choices)
        rows = [
            _board_row(plan, month, status_labels)
            for plan in selectors.board_plans(
                viewer=user, year=year, month=month, agency=agency, lagging_only=lagging_only
            )
        ]
        query = urlencode({"year": year, "month": month})
        context = {
            "year": year,
            "month": month,
            "form": form,
            "rows": rows,
            "counts": {light: sum(1 for r in rows if r.light == light) for light in LIGHTS},
            "is_rdec": rdec,
            "query": query,
            "filtered": agency is not None or lagging_only,
        }
        if rdec:
            analysis = selectors.monthly_analysis(year=year, month=month)
            context["analysis"] = analysis
            context["chart"] = lagging_chart(selectors.lagging_share_by_month(year=year), month=month)
        return render(request, self.template_name, context)


class BoardExportView(LoginRequiredMixin, View):
    """The month's analysis report as ODS (default) or XLSX, for RDEC staff."""

    def get(self, request):
        try:
            year, month = _year_month(request)
            export = exports.analysis_export_file(
                viewer=request.user, year=year, month=month, fmt=request.GET.get("format")
            )
        except AppPermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.message)) from exc
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        return export.as_response()


class BoardPrintView(LoginRequiredMixin, View):
    """The month's analysis report as a plain printable page (RDEC staff)."""

    template_name = "plan_control/print.html"

    def get(self, request):
        if not is_rdec_staff(request.user):
            raise DjangoPermissionDenied(_("只有研考會同仁可以檢視全市分析報告。"))
        try:
            year, month = _year_month(request)
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        analysis = selectors.monthly_analysis(year=year, month=month)
        for row in analysis["by_agency"]:
            row["lagging_percent"] = exports._percent(row["lagging"], row["total"])
        return render(
            request,
            self.template_name,
            {"analysis": analysis, "year": year, "month": month, "printed_at": timezone.localdate()},
        )


# ---------------------------------------------------------------- monthly reports


class ReportListView(LoginRequiredMixin, ListView):
    """My agency's monthly reports (RDEC staff: all), by year, month and status; a constant number of queries."""

    template_name = "plan_control/report_list.html"
    context_object_name = "reports"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = ReportFilterForm(self.request.GET or None)
        qs = selectors.report_list(viewer=self.request.user)
        if self.filter_form.is_bound and self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            if data["year"]:
                qs = qs.filter(year=data["year"])
            if data["month"]:
                qs = qs.filter(month=data["month"])
            if data["status"]:
                qs = qs.filter(status=data["status"])
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
        context["is_rdec"] = is_rdec_staff(self.request.user)
        return context


# RDEC's buttons on a submitted report; which show is the transitions' business (state and permission).
REPORT_ACTIONS = ActionTable(
    Action(
        "accept",
        gettext_lazy("審核通過"),
        gettext_lazy("已審核通過月報。"),
        lambda pk, user, data: services.report_accept(actor=user, report_id=pk),
    ),
    Action(
        "return_for_correction",
        gettext_lazy("退回"),
        gettext_lazy("已退回月報，請機關修正後再送出。"),
        lambda pk, user, data: services.report_return(actor=user, report_id=pk, reason=data.get("reason", "")),
        reason="required",
        style="mdc-button--outlined",
    ),
)


class ReportDetailView(LoginRequiredMixin, View):
    """One monthly report: the agency fills it in and submits it; RDEC accepts or returns it."""

    template_name = "plan_control/report.html"

    def _report(self, pk: int) -> ProgressReport:
        return get_object_or_404(selectors.report_list(viewer=self.request.user), pk=pk)

    def _render(self, report: ProgressReport, form: ReportForm | None = None, return_form: ReturnForm | None = None):
        user = self.request.user
        can_edit = "submit" in available_transitions(report, user)
        context = {
            "report": report,
            "plan": report.plan,
            "form": (form or ReportForm(instance=report)) if can_edit else None,
            "actions": REPORT_ACTIONS.for_object(report, user),
            "return_form": return_form or ReturnForm(),
            "history": transition_history(report),
            "light": _report_light(report),
        }
        return render(self.request, self.template_name, context)

    def get(self, request, pk: int):
        return self._render(self._report(pk))

    def post(self, request, pk: int):
        report = self._report(pk)
        form = ReportForm(request.POST)
        if not form.is_valid():
            return self._render(report, form)
        submit = "submit" in request.POST
        saved = run_service(
            request,
            lambda: services.report_update(actor=request.user, report_id=pk, **form.cleaned_data),
            "" if submit else _("已儲存月報。"),
            form=form,
        )
        if saved.invalid:
            return self._render(report, form)
        if saved and submit:  # a refusal (no longer open for changes) is already a message
            submitted = run_service(
                request,
                lambda: services.report_submit(actor=request.user, report_id=pk),
                _("已送出月報，待研考會審核。"),
                form=form,
            )
            if submitted.invalid:
                messages.error(request, _("已儲存，但月報尚未送出：請依欄位說明修正。"))
                return self._render(self._report(pk), form)
        return HttpResponseRedirect(reverse("plan_control:report", args=[pk]))


def _report_light(report: ProgressReport) -> dict:
    light = ("red" if report.lagging else "green") if report.status in selectors.COUNTED else "grey"
    return {"light": light, "label": str(LIGHTS[light])}


class ReportTransitionView(TransitionPostView):
    """POST 審核通過 or 退回 (with the reason): the service runs; back to the report with a message."""

    actions = REPORT_ACTIONS
    redirect_url_name = "plan_control:report"

    def get_object(self, request, pk: int) -> ProgressReport:
        return get_object_or_404(selectors.report_list(viewer=request.user), pk=pk)


# ---------------------------------------------------------------- importing the year's plans


def _require_runs_control(user) -> None:
    if not user.has_perm("plan_control.run_control"):
        raise DjangoPermissionDenied(_("只有研考會承辦人可以匯入列管計畫。"))


class PlansImportView(LoginRequiredMixin, View):
    """Import a year's controlled plans from ODS / XLSX / CSV (RDEC officers), all or nothing: a refused file comes
    back with every bad row in a table (row, column, message) and the year typed kept."""

    template_name = "plan_control/plans_import.html"

    def _render(self, form: PlanImportForm, *, row_errors: list[dict] | None = None, status: int = 200):
        context = {
            "form": form,
            "row_errors": [
                {**row, "column_label": exports.import_column_label(row.get("column", ""))} for row in row_errors or []
            ],
            "template_year": (form.data.get("year") if form.is_bound else None) or form.initial.get("year"),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        _require_runs_control(request.user)
        return self._render(PlanImportForm(initial={"year": selectors.default_month()[0]}))

    def post(self, request):
        _require_runs_control(request.user)
        form = PlanImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, status=400)
        year = form.cleaned_data["year"]
        outcome = run_service(
            request,
            lambda: services.plans_import(actor=request.user, year=year, upload=form.cleaned_data["file"]),
            "",
            form=form,
        )
        if not outcome:
            rows = outcome.error.rows if isinstance(outcome.error, services.ImportRejected) else []
            if rows:  # shown as the table, not repeated as the form's own list
                form.errors.pop("__all__", None)
            return self._render(form, row_errors=rows, status=outcome.status)
        messages.success(
            request,
            _("已匯入 %(n)d 項%(year)d年度列管計畫；開始執行後才會列入每月填報。")
            % {"n": outcome.result, "year": year},
        )
        # On to the year's plans, where the officer starts them.
        return HttpResponseRedirect(f"{reverse('plan_control:plans')}?{urlencode({'year': year})}")


class PlansImportTemplateView(LoginRequiredMixin, View):
    """The import template as ODS (default) or XLSX: the headers the import reads and one example row."""

    def get(self, request):
        _require_runs_control(request.user)
        try:
            year = int(request.GET.get("year") or selectors.default_month()[0])
        except ValueError:
            year = 0
        if not 1 <= year <= 999:
            return HttpResponseBadRequest(_("請輸入有效的年度。"))
        agency = agency_list().exclude(code="").order_by("code").values_list("code", flat=True).first() or "PWB"
        try:
            export = exports.import_template_file(year=year, agency_code=agency, fmt=request.GET.get("format"))
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        return export.as_response()


# ---------------------------------------------------------------- the year's plans


class PlanListView(LoginRequiredMixin, ListView):
    """The year's controlled plans the user may see (RDEC staff: all; an agency: its own), by status and agency, 50 a
    page, a constant number of queries; RDEC officers start every plan still registered at once (after the import),
    having been told how many."""

    template_name = "plan_control/plan_list.html"
    context_object_name = "plans"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        try:
            self.year = int(request.GET.get("year") or selectors.default_month()[0])
        except ValueError:
            self.year = 0
        if not 1 <= self.year <= 999:
            return HttpResponseBadRequest(_("請輸入有效的年度。"))
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        user = self.request.user
        plans = selectors.plan_list(viewer=user).filter(year=self.year)
        agencies = agency_list().filter(pk__in=selectors.plan_list(viewer=user).filter(year=self.year).values("agency"))
        data = self.request.GET.copy()
        data.setdefault("year", str(self.year))
        self.filter_form = PlanFilterForm(data, agencies=agencies)
        if self.filter_form.is_valid():
            if self.filter_form.cleaned_data["status"]:
                plans = plans.filter(status=self.filter_form.cleaned_data["status"])
            if self.filter_form.cleaned_data["agency"]:
                plans = plans.filter(agency=self.filter_form.cleaned_data["agency"])
        return plans

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        runs = self.request.user.has_perm("plan_control.run_control")
        context.update(
            {
                "year": self.year,
                "filter_form": self.filter_form,
                "query": query.urlencode(),
                "is_rdec": is_rdec_staff(self.request.user),
                "registered": selectors.registered_count(year=self.year) if runs else None,
            }
        )
        return context


def _plan_end_question(verb_done: str):
    def question(plan: ControlledPlan) -> str:
        counts = selectors.plan_report_counts(plan)
        return _(
            "「%(title)s」將%(verb)s：不再開啟新的月報，尚未填報或退回修正中的 %(open)d 份月報不再催報，"
            "主辦機關（%(agency)s）不能再填報此計畫。此操作無法復原。"
        ) % {"title": plan.title, "verb": verb_done, "open": counts["open"], "agency": plan.agency.name}

    return question


PLAN_ACTIONS = ActionTable(
    Action(
        "start",
        gettext_lazy("開始執行"),
        gettext_lazy("計畫已開始執行，每月開啟月報供機關填報。"),
        lambda pk, user, data: services.plan_start(plan_id=pk, actor=user),
    ),
    Action(
        "complete",
        gettext_lazy("計畫完成"),
        gettext_lazy("計畫已列為完成。"),
        lambda pk, user, data: services.plan_complete(plan_id=pk, actor=user),
        style="mdc-button--outlined",
        confirm=_plan_end_question(gettext_lazy("列為已完成")),
    ),
    Action(
        "terminate",
        gettext_lazy("終止計畫"),
        gettext_lazy("計畫已終止。"),
        lambda pk, user, data: services.plan_terminate(plan_id=pk, actor=user, reason=data.get("reason", "")),
        reason="required",
        style="mdc-button--outlined",
        confirm=_plan_end_question(gettext_lazy("終止，並自本年度列管統計中扣除")),
    ),
)


class PlanDetailView(LoginRequiredMixin, View):
    """One plan: its figures, planned curve, monthly reports and history; RDEC officers start, complete or end it."""

    template_name = "plan_control/plan.html"

    def get(self, request, pk: int):
        plan = get_object_or_404(selectors.plan_list(viewer=request.user), pk=pk)
        reports = {r.month: r for r in plan.reports.order_by("month")}
        months = [{"month": m, "planned": plan.planned_for(m), "report": reports.get(m)} for m in range(1, 13)]
        context = {
            "plan": plan,
            "months": months,
            "actions": PLAN_ACTIONS.for_object(plan, request.user),
            "history": transition_history(plan),
            "is_rdec": is_rdec_staff(request.user),
        }
        return render(request, self.template_name, context)


class PlanTransitionView(TransitionPostView):
    """POST 開始執行 / 計畫完成 / 終止計畫 (the last two ask first): back to the plan with a message."""

    actions = PLAN_ACTIONS
    redirect_url_name = "plan_control:plan"

    def get_object(self, request, pk: int) -> ControlledPlan:
        return get_object_or_404(selectors.plan_list(viewer=request.user), pk=pk)


START_ALL = Action(
    "start-all",
    gettext_lazy("全部開始執行"),
    "",
    lambda pk, user, data: None,
)


class PlansStartView(LoginRequiredMixin, View):
    """POST: every plan of the year still registered starts at once (RDEC officers), after a confirmation saying how
    many plans of how many agencies will be reported on every month from now."""

    http_method_names = ["post"]

    def post(self, request):
        _require_runs_control(request.user)
        try:
            # In the query string, so the confirmation page's form (posting back to this URL) carries it too.
            year = int(request.GET.get("year", ""))
        except ValueError:
            return HttpResponseBadRequest(_("請輸入有效的年度。"))
        if not 1 <= year <= 999:
            return HttpResponseBadRequest(_("請輸入有效的年度。"))
        back = f"{reverse('plan_control:plans')}?{urlencode({'year': year})}"
        counts = selectors.registered_count(year=year)
        if counts["plans"] and request.POST.get("confirmed") != "1":
            question = _(
                "%(year)d年度尚未開始的 %(plans)d 項列管計畫（%(agencies)d 個機關）將同時開始執行："
                "此後每月開啟月報，各機關承辦人須按月填報進度並收到填報提醒。開始執行後不能退回「已列管」。"
            ) % {"year": year, **counts}
            context = {
                "object": _("%(year)d年度列管計畫") % {"year": year},
                "action": START_ALL,
                "question": question,
                "reason": "",
                "back_url": back,
            }
            return render(request, "workflow_site/confirm.html", context)
        outcome = run_service(request, lambda: services.plans_start_registered(year=year, actor=request.user))
        if outcome:
            if outcome.result:
                messages.success(request, _("已開始執行 %(n)d 項列管計畫。") % {"n": outcome.result})
            else:
                messages.info(request, _("%(year)d年度沒有尚未開始的列管計畫。") % {"year": year})
        return HttpResponseRedirect(back)
