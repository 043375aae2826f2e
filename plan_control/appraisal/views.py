"""年終考核 back office: the agencies' annual summary (with its ODS / XLSX download), RDEC's appraisal round page
(rollup progress, the rollup / open-review / finalise buttons, the grade distribution), and the plans' appraisals
(the list, and one plan's page where the agency assesses itself and RDEC reviews).

Views read through the package's selectors and write only through its services. What the user may not see is a
404, what they may not do a 403; a refused request comes back as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from accounts.roles import is_rdec_staff
from workflow_site.actions import Action, ActionTable, TransitionPostView
from workflow_site.errors import ValidationFailed
from workflow_site.selectors import transition_history
from workflow_site.transitions import available_transitions
from workflow_site.views import run_service

from ..models import Appraisal, AppraisalGrade, AppraisalRound
from ..monitoring.selectors import default_month
from . import selectors, services
from .errors import Code
from .exports import GRADES, summary_export_file
from .forms import ReviewForm, RoundForm, SelfAssessmentForm


def _year(request) -> int:
    """`?year=` (ROC), defaulting to the year of last month; nonsense is a 400."""
    try:
        year = int(request.GET.get("year") or default_month()[0])
    except ValueError:
        year = 0
    if not 1 <= year <= 999:
        raise ValidationFailed(_("請輸入有效的年度。"), code=Code.BAD_YEAR)
    return year


class AgencySummaryView(LoginRequiredMixin, View):
    """機關年度概況: every agency for RDEC staff, one's own agency otherwise. A constant number of queries."""

    template_name = "plan_control/appraisal_summaries.html"

    def get(self, request):
        try:
            year = _year(request)
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        rows = selectors.agency_summaries(year=year, viewer=request.user)
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
            "is_rdec": is_rdec_staff(request.user),
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


def _open_review_question(round_: AppraisalRound) -> str:
    counts = selectors.round_pending_counts(round_)
    waiting = round_.appraisals.exclude(status=Appraisal.Status.SELF_ASSESSED).count()
    return _(
        "機關自評將結束：%(agencies)d 個機關的 %(plans)d 項計畫進入研考會複核，其中 %(waiting)d 項尚未自評；"
        "此後機關不能再送出或修改自評，此操作無法復原。"
    ) % {"agencies": counts["agencies"], "plans": counts["plans"], "waiting": waiting}


def _finalise_question(round_: AppraisalRound) -> str:
    counts = selectors.round_pending_counts(round_)
    if counts["reviewed"] < counts["plans"]:
        return ""  # the service refuses it with the count of plans still to review: nothing to confirm
    return _(
        "將依複核分數與等第標準評定 %(plans)d 項計畫（%(agencies)d 個機關）的等第，結果列入各機關年度概況供機關查閱；"
        "確定後分數與等第不能再修改，此操作無法復原。"
    ) % {"plans": counts["plans"], "agencies": counts["agencies"]}


# The round page's buttons (the slugs are the API's action paths); which show is the transitions' business.
ROUND_ACTIONS = ActionTable(
    Action(
        "rollup",
        gettext_lazy("彙整月報（產生建議分數）"),
        gettext_lazy("已開始彙整月報，完成後進入機關自評。"),
        lambda pk, user, data: services.appraisal_rollup_start(round_id=pk, actor=user),
        transition="start_rollup",
    ),
    Action(
        "open-review",
        gettext_lazy("結束自評，開始複核"),
        gettext_lazy("已結束機關自評，開始研考會複核。"),
        lambda pk, user, data: services.appraisal_open_review(round_id=pk, actor=user),
        transition="open_review",
        confirm=_open_review_question,
    ),
    Action(
        "finalize",
        gettext_lazy("考核定案"),
        gettext_lazy("考核結果已確定。"),
        lambda pk, user, data: services.appraisal_round_finalise(round_id=pk, actor=user),
        transition="finalise",
        confirm=_finalise_question,
    ),
)


class AppraisalRoundView(LoginRequiredMixin, View):
    """One year's appraisal round for RDEC staff: status, rollup progress, actions, the grade distribution."""

    template_name = "plan_control/appraisal_round.html"

    def get(self, request, pk: int):
        if not is_rdec_staff(request.user):
            raise DjangoPermissionDenied(_("只有研考會同仁可以檢視全市分析報告。"))
        round_ = get_object_or_404(AppraisalRound, pk=pk)
        progress = selectors.rollup_progress(round_)
        results = selectors.round_results(round_)
        labels = dict(AppraisalGrade.choices)
        weights = round_.weights or {}
        distribution = [{**row, "label": labels[row["grade"]]} for row in results["distribution"]]
        context = {
            "round": round_,
            "progress": progress,
            "distribution": distribution,
            "graded": sum(row["count"] for row in distribution),
            "actions": ROUND_ACTIONS.for_object(round_, request.user),
            "bands": [{**band, "label": labels.get(band["grade"], band["grade"])} for band in round_.grade_bands],
            "weights": [{"label": label, "value": weights.get(key, "—")} for key, label in COMPONENT_LABELS.items()],
        }
        return render(request, self.template_name, context)


class AppraisalHomeView(LoginRequiredMixin, View):
    """The 年終考核 menu entry: RDEC staff to the rounds, an agency to its plans' appraisals."""

    def get(self, request):
        name = "plan_control:appraisal-rounds" if is_rdec_staff(request.user) else "plan_control:appraisals"
        return HttpResponseRedirect(reverse(name))


class AppraisalRoundListView(LoginRequiredMixin, View):
    """Every year's appraisal round for RDEC staff, latest first, with its plans counted; RDEC officers create one
    here. One query for the list, whatever the number of rounds."""

    template_name = "plan_control/appraisal_rounds.html"

    def get(self, request):
        if not is_rdec_staff(request.user):
            raise DjangoPermissionDenied(_("只有研考會同仁可以檢視年終考核作業。"))
        return render(
            request,
            self.template_name,
            {"rounds": list(selectors.round_list()), "can_create": request.user.has_perm("plan_control.run_control")},
        )


class AppraisalRoundCreateView(LoginRequiredMixin, View):
    """A new year's appraisal round (RDEC officers): weights, grade bands and ROC deadlines; what was typed is kept
    with the messages beside the boxes when something is refused."""

    template_name = "plan_control/appraisal_round_form.html"

    def _require(self, user) -> None:
        if not user.has_perm("plan_control.run_control"):
            raise DjangoPermissionDenied(_("只有研考會承辦人可以建立年終考核。"))

    def _render(self, form: RoundForm):
        return render(self.request, self.template_name, {"form": form})

    def get(self, request):
        self._require(request.user)
        latest = AppraisalRound.objects.values_list("year", flat=True).order_by("-year").first()
        return self._render(RoundForm(initial={"year": (latest + 1) if latest else default_month()[0]}))

    def post(self, request):
        self._require(request.user)
        form = RoundForm(request.POST)
        if not form.is_valid():
            return self._render(form)
        outcome = run_service(
            request,
            lambda: services.appraisal_round_create(actor=request.user, **form.service_kwargs()),
            "",
            form=form,
        )
        if not outcome:
            return self._render(form)
        messages.success(request, _("已建立%(year)d年度年終考核。") % {"year": outcome.result.year})
        return HttpResponseRedirect(reverse("plan_control:appraisal-round", args=[outcome.result.pk]))


class AppraisalRoundActionView(TransitionPostView):
    """POST rollup / open-review / finalize: the service runs; back to the round page with a message."""

    actions = ROUND_ACTIONS
    redirect_url_name = "plan_control:appraisal-round"

    def get_object(self, request, pk: int) -> AppraisalRound:
        if not is_rdec_staff(request.user):
            raise DjangoPermissionDenied(_("只有研考會同仁可以執行年終考核作業。"))
        return get_object_or_404(AppraisalRound, pk=pk)


# ---------------------------------------------------------------- the plans' appraisals


class AppraisalListView(LoginRequiredMixin, ListView):
    """The year's appraisals the user may see (RDEC staff: all; an agency: its own plans), 50 a page; a constant
    number of queries. Without `?year=` the latest round's year."""

    template_name = "plan_control/appraisal_list.html"
    context_object_name = "appraisals"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        try:
            self.year = self._year()
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        self.round = AppraisalRound.objects.filter(year=self.year).first()
        return super().get(request, *args, **kwargs)

    def _year(self) -> int:
        if not self.request.GET.get("year"):
            latest = AppraisalRound.objects.values_list("year", flat=True).order_by("-year").first()
            if latest is not None:
                return latest
        return _year(self.request)

    def get_queryset(self):
        return selectors.appraisal_list(viewer=self.request.user).filter(round__year=self.year)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "year": self.year,
                "round": self.round,
                "is_rdec": is_rdec_staff(self.request.user),
                "query": f"year={self.year}",
            }
        )
        return context


@dataclass(frozen=True)
class ItemAction:
    form: type[forms.Form]
    transition: str
    heading: str
    button: str
    done: str
    initial: Callable[[Appraisal], dict]
    run: Callable[..., Appraisal]


ITEM_ACTIONS = {
    "self_assess": ItemAction(
        form=SelfAssessmentForm,
        transition="submit_self_assessment",
        heading=gettext_lazy("機關自評"),
        button=gettext_lazy("送出自評"),
        done=gettext_lazy("已送出自評；研考會複核前仍可修正。"),
        initial=lambda item: {"self_score": item.self_score, "self_assessment": item.self_assessment},
        run=lambda actor, pk, data: services.appraisal_submit_self_assessment(
            actor=actor, appraisal_id=pk, score=data["self_score"], text=data["self_assessment"]
        ),
    ),
    "review": ItemAction(
        form=ReviewForm,
        transition="review",
        heading=gettext_lazy("研考會複核"),
        button=gettext_lazy("送出複核"),
        done=gettext_lazy("已完成複核。"),
        initial=lambda item: {"review_score": item.review_score, "review_comment": item.review_comment},
        run=lambda actor, pk, data: services.appraisal_review(
            actor=actor, appraisal_id=pk, score=data["review_score"], comment=data["review_comment"]
        ),
    ),
}

FIGURES = [
    ("mean_lag", gettext_lazy("平均落後百分點")),
    ("months_lagging", gettext_lazy("落後月數")),
    ("months_late", gettext_lazy("逾期填報月數")),
    ("months_missing", gettext_lazy("未填報月數")),
    ("final_completion", gettext_lazy("最終累計完成度（%）")),
    ("budget_execution_rate", gettext_lazy("預算執行率（%）")),
]
COMPONENT_LABELS = {
    "progress": gettext_lazy("進度"),
    "timeliness": gettext_lazy("填報時效"),
    "completion": gettext_lazy("完成度"),
    "budget": gettext_lazy("預算執行"),
}


def appraisal_components(item: Appraisal) -> dict:
    """The figures behind the suggested score and the weighted components, ready to print (missing: None)."""
    parts = item.components or {}
    weights = item.round.weights or {}
    return {
        "figures": [{"key": key, "label": label, "value": parts.get(key)} for key, label in FIGURES],
        "budget_flag": bool(parts.get("budget_flag")),
        "scores": [
            {"key": key, "label": label, "value": parts.get(key), "weight": weights.get(key)}
            for key, label in COMPONENT_LABELS.items()
        ],
    }


class AppraisalDetailView(LoginRequiredMixin, View):
    """One plan's appraisal: the components and the suggested score; the agency's self-assessment form while the
    round is in self-assessment, RDEC's review form while it is in review. Refusals come back on the form or as
    messages (a stage or state refusal with its 409), never as a server error."""

    template_name = "plan_control/appraisal_item.html"

    def _item(self, pk: int) -> Appraisal:
        qs = selectors.appraisal_list(viewer=self.request.user).select_related("round", "reviewed_by")
        return get_object_or_404(qs, pk=pk)

    def _open_action(self, item: Appraisal) -> str | None:
        """The form this user may fill in now, if any: the one whose transition is available (the item's state,
        the round's stage as the transition's condition, the user's right)."""
        names = set(available_transitions(item, self.request.user))
        return next((name for name, spec in ITEM_ACTIONS.items() if spec.transition in names), None)

    def _render(self, item: Appraisal, *, action: str | None = None, form=None, status: int = 200):
        open_action = self._open_action(item)
        if form is not None and action != open_action:
            # A form this page does not offer now (a forged or stale POST): its errors become messages.
            for errors in form.errors.values():
                for error in errors:
                    messages.error(self.request, error)
            form = None
        if open_action and form is None:
            spec = ITEM_ACTIONS[open_action]
            form = spec.form(initial=spec.initial(item))
        context = {
            "item": item,
            "plan": item.plan,
            "round": item.round,
            "components": appraisal_components(item),
            "action": open_action,
            "action_spec": ITEM_ACTIONS.get(open_action),
            "form": form,
            "history": transition_history(item),
            "is_rdec": is_rdec_staff(self.request.user),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk: int):
        return self._render(self._item(pk))

    def post(self, request, pk: int):
        item = self._item(pk)
        name = request.POST.get("action", "")
        spec = ITEM_ACTIONS.get(name)
        if spec is None:
            return HttpResponseBadRequest(_("未知的操作。"))
        form = spec.form(request.POST)
        if not form.is_valid():
            return self._render(item, action=name, form=form)
        outcome = run_service(request, lambda: spec.run(request.user, pk, form.cleaned_data), str(spec.done), form=form)
        if outcome.invalid:
            return self._render(self._item(pk), action=name, form=form)
        if not outcome:  # not this stage, or the item has moved on: the message says so, with the API's status
            return self._render(self._item(pk), status=outcome.status)
        return HttpResponseRedirect(reverse("plan_control:appraisal", args=[pk]))
