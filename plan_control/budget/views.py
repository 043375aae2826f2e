"""年度重要施政計畫先期作業 back office: the cycles (settings, ceilings, stage buttons), the agencies' requests (form,
plan document, sign-off, the ledger), RDEC's review meetings and site visits, the balancing board and the results
(with a chart and the ODS/XLSX export).

Views read through the package's selectors and write only through its services. What the user may not see is a
404, what they may not do a 403; a refused request comes back as form errors (what was typed kept) or a message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import FileResponse, Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.shortcuts import render as django_render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from accounts.roles import Role, is_rdec_staff, user_roles
from workflow_site.actions import Action, ActionTable, TransitionPostView
from workflow_site.errors import PermissionDenied as AppPermissionDenied
from workflow_site.errors import ValidationFailed
from workflow_site.money import format_money
from workflow_site.selectors import transition_history
from workflow_site.transitions import available_transitions
from workflow_site.views import run_service

from ..models import BudgetCycle, BudgetDocument, BudgetRequest, MeetingDecision, ReviewMeeting, SiteVisitPhoto
from ..models.budget import CEILING_SOURCES, SOURCES, Source
from . import exports, selectors, services
from .forms import (
    CeilingForm,
    CycleForm,
    DecideForm,
    HoldForm,
    MeetingForm,
    PhotoForm,
    RecommendForm,
    RequestFilterForm,
    RequestForm,
    SiteVisitForm,
)
from .money import format_amount

S = BudgetRequest.Status
C = BudgetCycle.Status
SOURCE_LABELS = {source: str(Source(source).label) for source in SOURCES}


def render(request, template_name: str, context: dict, status: int = 200):
    """Every page here shows the cycle's links, RDEC's (board, results) only to RDEC staff."""
    context.setdefault("is_rdec", is_rdec_staff(request.user))
    return django_render(request, template_name, context, status=status)


def _require_rdec(user) -> None:
    if not is_rdec_staff(user):
        raise DjangoPermissionDenied(_("只有研考會同仁可以使用此頁。"))


def _runs_budget(user) -> bool:
    return user.has_perm("plan_control.run_budget")


def _require_runs_budget(user) -> None:
    if not _runs_budget(user):
        raise DjangoPermissionDenied(_("只有研考會承辦人可以辦理先期作業。"))


def _is_id(value: str) -> bool:
    """A primary key in a query string: ASCII digits only ("²" and "١" are digits to str.isdigit), at most 18."""
    return value.isascii() and value.isdecimal() and len(value) <= 18


def _cycle(pk: int) -> BudgetCycle:
    return get_object_or_404(selectors.cycle_list(), pk=pk)


def _visible_request(user, pk: int) -> BudgetRequest:
    return get_object_or_404(selectors.request_list(viewer=user).prefetch_related("documents"), pk=pk)


def _is_clerk(user) -> bool:
    return Role.AGENCY_CLERK in user_roles(user) and user.agency_id is not None


# ---------------------------------------------------------------- cycles


def _start_review_question(cycle: BudgetCycle) -> str:
    """Receiving ends: what reached RDEC goes to review, what is still at an agency lapses. One query."""
    counts = cycle.requests.aggregate(
        sent=Count("pk", filter=Q(status=S.SUBMITTED)),
        lapsing=Count("pk", filter=Q(status__in=[S.DRAFT, S.PENDING_APPROVAL, S.RETURNED])),
        agencies=Count("agency", filter=Q(status__in=[S.DRAFT, S.PENDING_APPROVAL, S.RETURNED]), distinct=True),
    )
    return (
        _(
            "收件即將截止：已送達研考會的 %(sent)d 件申請進入初審；尚未送達的 %(lapsing)d 件"
            "（%(agencies)d 個機關的草稿、待機關主管核定或退回修正中的申請）將退出本年度，機關不能再送出。"
            "此操作無法復原。"
        )
        % counts
    )


def _start_balancing_question(cycle: BudgetCycle) -> str:
    recommended = cycle.requests.filter(status=S.RECOMMENDED).count()
    return _(
        "初審即將結束：%(n)d 件已提初審意見的申請進入綜合平衡，此後不能再排定初審會議或修改初審建議。此操作無法復原。"
    ) % {"n": recommended}


def _approve_question(cycle: BudgetCycle) -> str:
    """What approving registers: the granted requests, their approved total, the agencies. One query."""
    granted = Q(status__in=selectors.GRANTED)
    counts = cycle.requests.aggregate(
        granted=Count("pk", filter=granted),
        rejected=Count("pk", filter=Q(status=S.REJECTED)),
        agencies=Count("agency", filter=granted, distinct=True),
        **{source: Sum(f"approved_{source}", filter=granted) for source in SOURCES},
    )
    total = sum(counts[source] or 0 for source in SOURCES)
    return _(
        "將核定本年度：%(granted)d 件核定（含核減）的申請列為 %(year)d 年度列管計畫（%(agencies)d 個機關，核定總額"
        "新臺幣 %(total)s），%(rejected)d 件不予核列；核定後不能再變更核定金額。此操作無法復原。"
    ) % {**counts, "year": cycle.fiscal_year, "total": format_money(total)}


CYCLE_ACTIONS = ActionTable(
    Action(
        "open",
        gettext_lazy("開始受理申請"),
        gettext_lazy("已開始受理申請。"),
        lambda pk, user, data: services.cycle_open(actor=user, cycle_id=pk),
    ),
    Action(
        "start-review",
        gettext_lazy("截止收件，開始初審"),
        gettext_lazy("已開始初審；未送達研考會的申請已退出本年度。"),
        lambda pk, user, data: services.cycle_start_review(actor=user, cycle_id=pk),
        transition="start_review",
        confirm=_start_review_question,
    ),
    Action(
        "start-balancing",
        gettext_lazy("開始綜合平衡"),
        gettext_lazy("已開始綜合平衡。"),
        lambda pk, user, data: services.cycle_start_balancing(actor=user, cycle_id=pk),
        transition="start_balancing",
        confirm=lambda cycle: _start_balancing_question(cycle) if not _in_review(cycle) else "",
    ),
    Action(
        "approve",
        gettext_lazy("核定本年度"),
        gettext_lazy("已核定本年度；核定的計畫已列入下年度列管計畫。"),
        lambda pk, user, data: services.cycle_approve(actor=user, cycle_id=pk),
        confirm=lambda cycle: _approve_question(cycle) if not _undecided(cycle) else "",
    ),
    Action(
        "close",
        gettext_lazy("結案"),
        gettext_lazy("本年度先期作業已結案。"),
        lambda pk, user, data: services.cycle_close(actor=user, cycle_id=pk),
        style="mdc-button--outlined",
        confirm=gettext_lazy("本年度先期作業結案後不能再重新開啟，申請、會議與訪查紀錄僅供查閱。此操作無法復原。"),
    ),
)


def _in_review(cycle: BudgetCycle) -> bool:
    """A request still without its recommendation: the service refuses to balance, so there is nothing to ask."""
    return cycle.requests.filter(status=S.IN_REVIEW).exists()


def _undecided(cycle: BudgetCycle) -> bool:
    return cycle.requests.exclude(status__in=selectors.FINAL).exists()


class CycleListView(LoginRequiredMixin, View):
    """Every cycle (their settings are no secret to anyone signed in); RDEC's officers add one."""

    template_name = "plan_control/budget/cycle_list.html"

    def get(self, request):
        return render(
            request,
            self.template_name,
            {"cycles": list(selectors.cycle_list()), "can_create": _runs_budget(request.user)},
        )


class CycleFormView(LoginRequiredMixin, View):
    """A new cycle (pk None) or a cycle's ceilings, thresholds and timeline (RDEC's officers)."""

    template_name = "plan_control/budget/cycle_form.html"

    def _render(self, form, cycle=None):
        return render(self.request, self.template_name, {"form": form, "cycle": cycle})

    def get(self, request, pk: int | None = None):
        _require_runs_budget(request.user)
        if pk is None:
            return self._render(CycleForm())
        cycle = _cycle(pk)
        return self._render(CycleForm(initial=CycleForm.initial_from(cycle), editing=True), cycle)

    def post(self, request, pk: int | None = None):
        _require_runs_budget(request.user)
        cycle = _cycle(pk) if pk is not None else None
        form = CycleForm(request.POST, editing=cycle is not None)
        if not form.is_valid():
            return self._render(form, cycle)
        if cycle is None:
            outcome = run_service(
                request,
                lambda: services.cycle_create(actor=request.user, **form.cleaned_data),
                _("已建立年度。"),
                form=form,
            )
        else:
            outcome = run_service(
                request,
                lambda: services.cycle_update(actor=request.user, cycle_id=cycle.pk, **form.cleaned_data),
                _("已更新年度設定。"),
                form=form,
            )
        if not outcome:
            return self._render(form, cycle)
        return HttpResponseRedirect(reverse("plan_control:budget-cycle", args=[outcome.result.pk]))


class CycleDetailView(LoginRequiredMixin, View):
    """A cycle: its stage, settings, the requests counted by state (those the viewer sees), the stage buttons, the
    agencies' own ceilings and the links to its meetings, visits, board and results."""

    template_name = "plan_control/budget/cycle.html"

    def _render(self, cycle: BudgetCycle, ceiling_form: CeilingForm | None = None):
        user = self.request.user
        counts = dict(
            selectors.request_list(viewer=user, cycle_id=cycle.pk)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        runs = _runs_budget(user)
        context = {
            "cycle": cycle,
            "counts": [(label, counts.get(value, 0), value) for value, label in S.choices],
            "count_total": sum(counts.values()),
            "actions": CYCLE_ACTIONS.for_object(cycle, user),
            "is_rdec": is_rdec_staff(user),
            "runs_budget": runs,
            "can_request": _is_clerk(user) and cycle.status == C.COLLECTING,
            "ceilings": list(selectors.ceiling_list(cycle_id=cycle.pk)),
            "ceiling_form": (ceiling_form or CeilingForm())
            if runs and cycle.status not in (C.APPROVED, C.CLOSED)
            else None,
            "history": transition_history(cycle),
            # Next year's controlled plans, once the approved cycle has registered them.
            "plans": list(
                selectors.request_list(viewer=user, cycle_id=cycle.pk)
                .filter(controlled_plan__isnull=False)
                .select_related("controlled_plan")
            )
            if cycle.status in (C.APPROVED, C.CLOSED)
            else [],
        }
        return render(self.request, self.template_name, context)

    def get(self, request, pk: int):
        return self._render(_cycle(pk))

    def post(self, request, pk: int):
        """An agency's own ceilings (blank both to remove them)."""
        cycle = _cycle(pk)
        _require_runs_budget(request.user)
        form = CeilingForm(request.POST)
        if not form.is_valid():
            return self._render(cycle, form)
        data = form.cleaned_data
        outcome = run_service(
            request,
            lambda: services.cycle_ceiling_set(
                actor=request.user,
                cycle_id=cycle.pk,
                agency_id=data["agency"].pk,
                public=data["public"],
                fund=data["fund"],
            ),
            _("已設定機關額度。"),
            form=form,
        )
        if outcome.invalid:
            return self._render(cycle, form)
        return HttpResponseRedirect(reverse("plan_control:budget-cycle", args=[cycle.pk]))


class CycleTransitionView(TransitionPostView):
    actions = CYCLE_ACTIONS
    redirect_url_name = "plan_control:budget-cycle"

    def get_object(self, request, pk: int) -> BudgetCycle:
        return _cycle(pk)


# ---------------------------------------------------------------- requests


class RequestListView(LoginRequiredMixin, ListView):
    """The requests the user may see (agency staff: their own agency's), by cycle, agency and state, 50 a page; a
    constant number of queries whatever their number."""

    template_name = "plan_control/budget/request_list.html"
    context_object_name = "requests"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = RequestFilterForm(self.request.GET or None)
        self.filters = {}
        if self.filter_form.is_bound and self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            self.filters = {
                "cycle_id": data["cycle"].pk if data["cycle"] else None,
                "agency_id": data["agency"].pk if data["agency"] else None,
                "status": data["status"] or None,
            }
        return selectors.request_list(viewer=self.request.user, **self.filters)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            {
                "filter_form": self.filter_form,
                "filtered": any(v is not None for v in self.filters.values()),
                "query": query.urlencode(),
                "can_create": _is_clerk(user) and selectors.cycle_list().filter(status=C.COLLECTING).exists(),
                "is_rdec": is_rdec_staff(user),
            }
        )
        return context


def _save_document(request, budget_request_id: int, upload) -> None:
    services.request_document_add(actor=request.user, request_id=budget_request_id, upload=upload)


class RequestCreateView(LoginRequiredMixin, View):
    """A clerk drafts a request with its plan document: both saved, or neither (what was typed comes back)."""

    template_name = "plan_control/budget/request_form.html"

    def _cycles(self):
        return selectors.cycle_list().filter(status=C.COLLECTING)

    def _render(self, form):
        return render(self.request, self.template_name, {"form": form, "budget_request": None})

    def get(self, request):
        if not _is_clerk(request.user):
            raise DjangoPermissionDenied(_("只有機關承辦人可以提出申請。"))
        cycles = self._cycles()
        initial = {"cycle": request.GET.get("cycle")} if _is_id(request.GET.get("cycle", "")) else {}
        return self._render(RequestForm(initial=initial, cycles=cycles))

    def post(self, request):
        if not _is_clerk(request.user):
            raise DjangoPermissionDenied(_("只有機關承辦人可以提出申請。"))
        form = RequestForm(request.POST, request.FILES, cycles=self._cycles())
        if not form.is_valid():
            return self._render(form)
        upload = form.cleaned_data["file"]

        def draft():
            with transaction.atomic():
                created = services.request_create(
                    actor=request.user, cycle_id=form.cleaned_data["cycle"].pk, **form.service_fields()
                )
                if upload:
                    _save_document(request, created.pk, upload)
                return created

        outcome = run_service(request, draft, _("已儲存申請草稿。"), form=form)
        if not outcome:
            return self._render(form)
        return HttpResponseRedirect(reverse("plan_control:budget-request", args=[outcome.result.pk]))


class RequestEditView(LoginRequiredMixin, View):
    """The clerk edits a draft or returned request and may add a plan document (both saved, or neither)."""

    template_name = "plan_control/budget/request_form.html"

    def _object(self, pk: int) -> BudgetRequest:
        budget_request = _visible_request(self.request.user, pk)
        if not self.request.user.has_perm("plan_control.draft_budget_request", budget_request):
            raise DjangoPermissionDenied(_("只有該機關的承辦人可以修改申請。"))
        return budget_request

    def _render(self, form, budget_request):
        return render(self.request, self.template_name, {"form": form, "budget_request": budget_request})

    def get(self, request, pk: int):
        budget_request = self._object(pk)
        return self._render(RequestForm(initial=RequestForm.initial_from(budget_request)), budget_request)

    def post(self, request, pk: int):
        budget_request = self._object(pk)
        form = RequestForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, budget_request)
        upload = form.cleaned_data["file"]

        def update():
            with transaction.atomic():
                services.request_update(actor=request.user, request_id=pk, **form.service_fields())
                if upload:
                    _save_document(request, pk, upload)

        outcome = run_service(request, update, _("已儲存申請。"), form=form)
        if outcome.invalid:
            return self._render(form, budget_request)
        return HttpResponseRedirect(reverse("plan_control:budget-request", args=[pk]))


REQUEST_ACTIONS = ActionTable(
    Action(
        "submit",
        gettext_lazy("送機關主管核定"),
        gettext_lazy("已送機關主管核定。"),
        lambda pk, user, data: services.request_submit(actor=user, request_id=pk),
    ),
    Action(
        "sign-off",
        gettext_lazy("核定並送研考會"),
        gettext_lazy("已核定，申請已送達研考會。"),
        lambda pk, user, data: services.request_approve(actor=user, request_id=pk),
        transition="sign_off",
    ),
    Action(
        "start-review",
        gettext_lazy("開始初審"),
        gettext_lazy("已開始初審。"),
        lambda pk, user, data: services.request_start_review(actor=user, request_id=pk),
        transition="start_review",
    ),
    Action(
        "return",
        gettext_lazy("退回修正"),
        gettext_lazy("已退回，請承辦人修正後再送出。"),
        lambda pk, user, data: services.request_return(actor=user, request_id=pk, reason=data.get("reason", "")),
        transition="return_for_changes",
        reason="required",
        style="mdc-button--outlined",
    ),
    Action(
        "withdraw",
        gettext_lazy("撤回申請"),
        gettext_lazy("已撤回申請。"),
        lambda pk, user, data: services.request_withdraw(actor=user, request_id=pk, reason=data.get("reason", "")),
        reason="optional",
        style="mdc-button--outlined",
        confirm=lambda request: (
            _(
                "撤回後「%(title)s」將退出%(year)d年度先期作業，不能再修改或送出；若仍需要，須重新填寫一件申請。"
                "此操作無法復原。"
            )
            % {"title": request.title, "year": request.cycle.fiscal_year}
        ),
    ),
)
DECISION_TRANSITIONS = {"approve", "cut", "reject"}


def _ledger_rows(budget_request: BudgetRequest, viewer) -> list[dict]:
    stage_labels = {"requested": _("申請"), "recommended": _("初審建議"), "approved": _("核定")}
    rows = []
    for entry in selectors.ledger(request_id=budget_request.pk, viewer=viewer):
        stage, _sep, source = entry.field.partition("_")
        rows.append(
            {
                "entry": entry,
                "stage": stage_labels.get(stage, stage),
                "source": SOURCE_LABELS.get(source, source),
            }
        )
    return rows


def _stage_table(budget_request: BudgetRequest) -> list[dict]:
    rows = []
    for source in SOURCES:
        rows.append(
            {
                "label": SOURCE_LABELS[source],
                "requested": getattr(budget_request, f"requested_{source}"),
                "recommended": getattr(budget_request, f"recommended_{source}"),
                "approved": getattr(budget_request, f"approved_{source}"),
            }
        )
    return rows


def _sum_or_none(values) -> int | None:
    values = list(values)
    return None if all(v is None for v in values) else sum(v or 0 for v in values)


def render_request(request, budget_request: BudgetRequest, *, recommend_form=None, decide_form=None, status=200):
    """The request's page; a refused recommendation or decision comes back in its form, as typed."""
    user = request.user
    names = set(available_transitions(budget_request, user))
    may_override = user.has_perm("plan_control.override_budget_ceiling")
    if "recommend" in names and recommend_form is None:
        recommend_form = RecommendForm(initial=budget_request.amounts("recommended"))
    if names & DECISION_TRANSITIONS and decide_form is None:
        decide_form = DecideForm(may_override=may_override)
    context = {
        "budget_request": budget_request,
        "cycle": budget_request.cycle,
        "amount_rows": _stage_table(budget_request),
        "recommended_total": _sum_or_none(budget_request.amounts("recommended").values()),
        "approved_total": _sum_or_none(budget_request.amounts("approved").values()),
        "years": sorted(budget_request.years.items()),
        "documents": list(budget_request.documents.all()),
        "can_edit": budget_request.status in services.EDITABLE
        and user.has_perm("plan_control.draft_budget_request", budget_request),
        "actions": REQUEST_ACTIONS.for_object(budget_request, user),
        "recommend_form": recommend_form if "recommend" in names else None,
        "decide_form": decide_form if names & DECISION_TRANSITIONS else None,
        "ledger": _ledger_rows(budget_request, user),
        "history": transition_history(budget_request),
        "is_rdec": is_rdec_staff(user),
        "central_review_threshold": format_amount(budget_request.cycle.central_review_threshold),
    }
    return render(request, "plan_control/budget/request.html", context, status=status)


class RequestDetailView(LoginRequiredMixin, View):
    """One request: amounts by source and stage, years, documents, its buttons, the recommendation and decision
    forms when the user may use them, the append-only ledger and the transition history."""

    def get(self, request, pk: int):
        return render_request(request, _visible_request(request.user, pk))


class RequestTransitionView(TransitionPostView):
    actions = REQUEST_ACTIONS
    redirect_url_name = "plan_control:budget-request"

    def get_object(self, request, pk: int) -> BudgetRequest:
        return _visible_request(request.user, pk)


class RequestRecommendView(LoginRequiredMixin, View):
    """RDEC's written recommendation (outside a meeting): amounts by source and a note."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        budget_request = _visible_request(request.user, pk)
        form = RecommendForm(request.POST)
        if form.is_valid():
            outcome = run_service(
                request,
                lambda: services.request_recommend(
                    actor=request.user, request_id=pk, amounts=form.amounts(), note=form.cleaned_data["note"]
                ),
                _("已記錄初審建議。"),
                form=form,
            )
            if not outcome.invalid:
                return HttpResponseRedirect(reverse("plan_control:budget-request", args=[pk]))
        return render_request(request, budget_request, recommend_form=form, status=400)


class RequestDecideView(LoginRequiredMixin, View):
    """RDEC's decision during balancing; above a ceiling only a supervisor, with an override reason."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        budget_request = _visible_request(request.user, pk)
        form = DecideForm(request.POST, may_override=request.user.has_perm("plan_control.override_budget_ceiling"))
        if form.is_valid():
            outcome = run_service(
                request,
                lambda: services.request_decide(actor=request.user, request_id=pk, **form.service_fields()),
                _("已記錄核定結果。"),
                form=form,
            )
            if not outcome.invalid:
                return HttpResponseRedirect(reverse("plan_control:budget-request", args=[pk]))
        return render_request(request, budget_request, decide_form=form, status=400)


class DocumentDownloadView(LoginRequiredMixin, View):
    """A plan document of a request the user may see (media files are never served directly)."""

    def get(self, request, pk: int, document_id: int):
        budget_request = _visible_request(request.user, pk)
        document = get_object_or_404(BudgetDocument.objects.filter(request=budget_request), pk=document_id)
        return FileResponse(document.file.open("rb"), as_attachment=True, filename=document.name)


# ---------------------------------------------------------------- review meetings


def _meeting(user, pk: int) -> ReviewMeeting:
    return get_object_or_404(selectors.meeting_list(viewer=user), pk=pk)


def _agenda_choices(user, cycle: BudgetCycle):
    return selectors.request_list(viewer=user, cycle_id=cycle.pk).filter(
        status__in=[S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED]
    )


class _CycleListView(LoginRequiredMixin, View):
    """A list of what the user may see (`list_rows(viewer=, cycle_id=)`), of one cycle with `?cycle=`; RDEC staff
    who run the review get the button to add one to that cycle."""

    template_name: str
    context_name: str
    list_rows: Callable[..., QuerySet]  # a selector taking viewer= and cycle_id=

    def get(self, request):
        cycle = None
        if request.GET.get("cycle"):
            if not _is_id(request.GET["cycle"]):
                return HttpResponseBadRequest(_("年度參數無效。"))
            cycle = _cycle(int(request.GET["cycle"]))
        rows = list(self.list_rows(viewer=request.user, cycle_id=cycle.pk if cycle else None))
        context = {self.context_name: rows, "cycle": cycle}
        context["can_create"] = cycle is not None and _runs_budget(request.user)
        return render(request, self.template_name, context)


class MeetingListView(_CycleListView):
    """The meetings the user may see (RDEC: all; attendees and agencies concerned: theirs), optionally of a cycle."""

    template_name = "plan_control/budget/meeting_list.html"
    context_name = "meetings"
    list_rows = staticmethod(selectors.meeting_list)


class MeetingFormView(LoginRequiredMixin, View):
    """Schedule a meeting for a cycle (`cycle_pk`), or reschedule one (`pk`) until it is held."""

    template_name = "plan_control/budget/meeting_form.html"

    def _render(self, form, cycle, meeting=None):
        return render(self.request, self.template_name, {"form": form, "cycle": cycle, "meeting": meeting})

    def _context(self, cycle_pk, pk):
        _require_runs_budget(self.request.user)
        if pk is not None:
            meeting = _meeting(self.request.user, pk)
            return meeting.cycle, meeting
        return _cycle(cycle_pk), None

    def get(self, request, cycle_pk: int | None = None, pk: int | None = None):
        cycle, meeting = self._context(cycle_pk, pk)
        initial = {}
        if meeting is not None:
            initial = {
                "date": meeting.date,
                "place": meeting.place,
                "requests": list(meeting.agenda.all()),
                "attendees": list(meeting.attendees.all()),
                "agencies": list(meeting.agencies.all()),
            }
        return self._render(MeetingForm(initial=initial, requests=_agenda_choices(request.user, cycle)), cycle, meeting)

    def post(self, request, cycle_pk: int | None = None, pk: int | None = None):
        cycle, meeting = self._context(cycle_pk, pk)
        form = MeetingForm(request.POST, requests=_agenda_choices(request.user, cycle))
        if not form.is_valid():
            return self._render(form, cycle, meeting)
        if meeting is None:
            outcome = run_service(
                request,
                lambda: services.meeting_create(actor=request.user, cycle_id=cycle.pk, **form.service_fields()),
                _("已排定初審會議。"),
                form=form,
            )
        else:
            outcome = run_service(
                request,
                lambda: services.meeting_update(actor=request.user, meeting_id=meeting.pk, **form.service_fields()),
                _("已更新初審會議。"),
                form=form,
            )
        if not outcome:
            return self._render(form, cycle, meeting)
        return HttpResponseRedirect(reverse("plan_control:budget-meeting", args=[outcome.result.pk]))


def render_meeting(request, meeting: ReviewMeeting, *, hold_form=None, bound: dict | None = None, status=200):
    """The meeting page: details, minutes (the hold form while scheduled) and the agenda, each request with the
    meeting's decision and, for RDEC's officers while the cycle reviews, a form to record it."""
    user = request.user
    decisions = {d.request_id: d for d in MeetingDecision.objects.filter(meeting=meeting)}
    # An agency concerned in a meeting sees its own requests on the agenda, not the other agencies'.
    agenda = list(
        meeting.agenda.filter(selectors.request_visibility(user))
        .select_related("agency")
        .order_by("agency__code", "pk")
    )
    may_record = _runs_budget(user) and meeting.cycle.status == C.REVIEWING
    bound = bound or {}
    rows = []
    for item in agenda:
        decision = decisions.get(item.pk)
        form = None
        if may_record and item.status in (S.IN_REVIEW, S.RECOMMENDED):
            form = bound.get(item.pk)
            if form is None:
                initial = {s: getattr(decision, s) for s in SOURCES} | {"note": decision.note} if decision else {}
                form = RecommendForm(initial=initial, prefix=f"r{item.pk}")
        rows.append({"request": item, "decision": decision, "form": form})
    context = {
        "meeting": meeting,
        "cycle": meeting.cycle,
        "rows": rows,
        "hold_form": (hold_form or HoldForm()) if "hold" in available_transitions(meeting, user) else None,
        "runs_budget": _runs_budget(user),
        "history": transition_history(meeting),
        "sources": [SOURCE_LABELS[s] for s in SOURCES],
    }
    return render(request, "plan_control/budget/meeting.html", context, status=status)


class MeetingDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return render_meeting(request, _meeting(request.user, pk))

    def post(self, request, pk: int):
        """The minutes: the meeting is held."""
        meeting = _meeting(request.user, pk)
        form = HoldForm(request.POST)
        if form.is_valid():
            outcome = run_service(
                request,
                lambda: services.meeting_hold(actor=request.user, meeting_id=pk, minutes=form.cleaned_data["minutes"]),
                _("已記錄會議紀錄。"),
                form=form,
            )
            if not outcome.invalid:
                return HttpResponseRedirect(reverse("plan_control:budget-meeting", args=[pk]))
        return render_meeting(request, meeting, hold_form=form, status=400)


class MeetingDecisionView(LoginRequiredMixin, View):
    """The meeting's recommendation on one request of its agenda."""

    http_method_names = ["post"]

    def post(self, request, pk: int, request_id: int):
        meeting = _meeting(request.user, pk)
        if not meeting.agenda.filter(pk=request_id).exists():
            raise Http404(_("此案不在本次會議的審查案件中。"))
        form = RecommendForm(request.POST, prefix=f"r{request_id}")
        if form.is_valid():
            outcome = run_service(
                request,
                lambda: services.meeting_record_decision(
                    actor=request.user,
                    meeting_id=pk,
                    request_id=request_id,
                    amounts=form.amounts(),
                    note=form.cleaned_data["note"],
                ),
                _("已記錄會議建議。"),
                form=form,
            )
            if not outcome.invalid:
                return HttpResponseRedirect(reverse("plan_control:budget-meeting", args=[pk]) + f"#agenda-{request_id}")
        return render_meeting(request, meeting, bound={request_id: form}, status=400)


# ---------------------------------------------------------------- site visits


def _photo_errors_on_field(call):
    """Run a site-visit service; its `photos` refusals belong to the form's `photo` field."""
    try:
        return call()
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "photos" in exc.error_dict:
            exc.error_dict["photo"] = exc.error_dict.pop("photos")
        raise


def _visit(user, pk: int):
    return get_object_or_404(selectors.site_visit_list(viewer=user), pk=pk)


class SiteVisitListView(_CycleListView):
    """The site visits the user may see (RDEC: all; agencies concerned: theirs), optionally of a cycle."""

    template_name = "plan_control/budget/visit_list.html"
    context_name = "visits"
    list_rows = staticmethod(selectors.site_visit_list)


class SiteVisitFormView(LoginRequiredMixin, View):
    """Record a site visit of a cycle (with a first photo), or correct a visit's date and findings."""

    template_name = "plan_control/budget/visit_form.html"

    def _context(self, cycle_pk, pk):
        _require_runs_budget(self.request.user)
        if pk is not None:
            visit = _visit(self.request.user, pk)
            return visit.cycle, visit
        return _cycle(cycle_pk), None

    def _form(self, cycle, visit, *args, **kwargs):
        if visit is not None:
            return SiteVisitForm(*args, **kwargs)
        requests = selectors.request_list(viewer=self.request.user, cycle_id=cycle.pk).filter(
            status__in=selectors.IN_CYCLE
        )
        return SiteVisitForm(*args, requests=requests, **kwargs)

    def _render(self, form, cycle, visit):
        return render(self.request, self.template_name, {"form": form, "cycle": cycle, "visit": visit})

    def get(self, request, cycle_pk: int | None = None, pk: int | None = None):
        cycle, visit = self._context(cycle_pk, pk)
        initial = {"date": visit.date, "findings": visit.findings} if visit else {}
        return self._render(self._form(cycle, visit, initial=initial), cycle, visit)

    def post(self, request, cycle_pk: int | None = None, pk: int | None = None):
        cycle, visit = self._context(cycle_pk, pk)
        form = self._form(cycle, visit, request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, cycle, visit)
        data = form.cleaned_data
        if visit is None:
            outcome = run_service(
                request,
                lambda: _photo_errors_on_field(
                    lambda: services.site_visit_create(
                        actor=request.user,
                        cycle_id=cycle.pk,
                        date=data["date"],
                        request_ids=[r.pk for r in data["requests"]],
                        findings=data["findings"],
                        photos=[data["photo"]] if data["photo"] else [],
                    )
                ),
                _("已記錄實地訪查。"),
                form=form,
            )
        else:
            outcome = run_service(
                request,
                lambda: services.site_visit_update(
                    actor=request.user, visit_id=visit.pk, findings=data["findings"], date=data["date"]
                ),
                _("已更新實地訪查。"),
                form=form,
            )
        if not outcome:
            return self._render(form, cycle, visit)
        return HttpResponseRedirect(reverse("plan_control:budget-visit", args=[outcome.result.pk]))


class SiteVisitDetailView(LoginRequiredMixin, View):
    """A visit: its plans, findings and photos (shown through PhotoView); RDEC's officers add photos."""

    template_name = "plan_control/budget/visit.html"

    def _render(self, visit, photo_form=None, status=200):
        runs = _runs_budget(self.request.user)
        context = {
            "visit": visit,
            "cycle": visit.cycle,
            "photos": list(visit.photos.all()),
            "visited": list(
                visit.requests.filter(selectors.request_visibility(self.request.user)).select_related("agency")
            ),
            "photo_form": (photo_form or PhotoForm()) if runs else None,
            "runs_budget": runs,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk: int):
        return self._render(_visit(request.user, pk))

    def post(self, request, pk: int):
        visit = _visit(request.user, pk)
        _require_runs_budget(request.user)
        form = PhotoForm(request.POST, request.FILES)
        if form.is_valid():
            outcome = run_service(
                request,
                lambda: _photo_errors_on_field(
                    lambda: services.site_visit_add_photo(
                        actor=request.user, visit_id=pk, upload=form.cleaned_data["photo"]
                    )
                ),
                _("已加入照片。"),
                form=form,
            )
            if not outcome.invalid:
                return HttpResponseRedirect(reverse("plan_control:budget-visit", args=[pk]))
        return self._render(visit, form, status=400)


class PhotoView(LoginRequiredMixin, View):
    """A photo of a visit the user may see, inline (media files are never served directly)."""

    def get(self, request, pk: int, photo_id: int):
        visit = _visit(request.user, pk)
        photo = get_object_or_404(SiteVisitPhoto.objects.filter(visit=visit), pk=photo_id)
        response = FileResponse(photo.file.open("rb"), content_type=f"image/{photo.format}")
        response["Content-Disposition"] = "inline"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ---------------------------------------------------------------- the balancing board and the results


def _figure_rows(figures: dict, ceiling: dict) -> list[dict]:
    """One row per source: requested, recommended, approved, the ceiling (public and fund only), over it or not."""
    rows = []
    for source in [*SOURCES, "total"]:
        limit = ceiling.get(source) if source in CEILING_SOURCES else None
        approved = figures["approved"][source]
        rows.append(
            {
                "source": source,
                "label": SOURCE_LABELS.get(source, _("合計")),
                "requested": figures["requested"][source],
                "recommended": figures["recommended"][source],
                "approved": approved,
                "ceiling": limit,
                "over": limit is not None and approved > limit,
                "left": None if limit is None else limit - approved,
                "over_by": approved - limit if limit is not None and approved > limit else None,
            }
        )
    return rows


def board_context(cycle: BudgetCycle) -> dict:
    totals = selectors.totals(cycle=cycle)
    overall = totals["overall"]
    agencies = []
    for agency in totals["agencies"]:
        agencies.append(
            {
                **agency,
                "rows": _figure_rows(agency, agency["ceiling"]),
                "over_labels": [SOURCE_LABELS[s] for s in agency["over_ceiling"]],
            }
        )
    return {
        "totals": totals,
        "overall_rows": _figure_rows(overall, overall["ceiling"]),
        "overall_over": [SOURCE_LABELS[s] for s in overall["over_ceiling"]],
        "agencies": agencies,
        "sources": [SOURCE_LABELS[s] for s in SOURCES],
    }


class BoardView(LoginRequiredMixin, View):
    """綜合平衡: the cycle's sums per source and agency against the ceilings (two queries for the sums), and the
    requests awaiting or carrying a decision, each a link to its page where the decision is made."""

    template_name = "plan_control/budget/board.html"

    def get(self, request, pk: int):
        _require_rdec(request.user)
        cycle = _cycle(pk)
        requests = list(
            selectors.request_list(viewer=request.user, cycle_id=cycle.pk).filter(
                status__in=[S.RECOMMENDED, *selectors.DECIDED]
            )
        )
        context = {"cycle": cycle, "requests": requests, **board_context(cycle)}
        return render(request, self.template_name, context)


CHART = {"width": 760, "left": 150, "right": 130, "top": 16, "bar": 14, "gap": 4, "group": 16}


def results_chart(totals: dict) -> dict:
    """Geometry of the horizontal bar chart of requested vs approved, per agency (and the whole cycle first), so
    that the template only draws it."""
    groups = [{"name": _("全部機關"), "requested": totals["overall"]["requested"]["total"],
               "approved": totals["overall"]["approved"]["total"]}]  # fmt: skip
    groups += [
        {"name": a["name"], "requested": a["requested"]["total"], "approved": a["approved"]["total"]}
        for a in totals["agencies"]
    ]
    highest = max([1, *(g["requested"] for g in groups), *(g["approved"] for g in groups)])
    plot_w = CHART["width"] - CHART["left"] - CHART["right"]
    step = CHART["bar"] * 2 + CHART["gap"] + CHART["group"]
    bars = []
    for index, group in enumerate(groups):
        top = CHART["top"] + index * step
        bar_rows = []
        for offset, key in enumerate(("requested", "approved")):
            width = round(plot_w * group[key] / highest, 1)
            y = top + offset * (CHART["bar"] + CHART["gap"])
            bar_rows.append(
                {
                    "key": key,
                    "y": y,
                    "width": width,
                    "text_x": round(CHART["left"] + width + 4, 1),
                    "text_y": y + CHART["bar"] - 3,
                    "amount": format_amount(group[key]),
                }
            )
        bars.append({"name": group["name"], "label_y": top + CHART["bar"] + 2, "bars": bar_rows, **group})
    return {**CHART, "height": CHART["top"] + len(groups) * step, "groups": bars}


class ResultsView(LoginRequiredMixin, View):
    """The cycle's results: totals by source and agency, a chart of requested vs approved with its table, and the
    ODS/XLSX download (RDEC staff)."""

    template_name = "plan_control/budget/results.html"

    def get(self, request, pk: int):
        _require_rdec(request.user)
        cycle = _cycle(pk)
        context = {"cycle": cycle, **board_context(cycle)}
        context["chart"] = results_chart(context["totals"])
        return render(request, self.template_name, context)


class ResultsExportView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        cycle = _cycle(pk)
        try:
            export = exports.results_export_file(viewer=request.user, cycle=cycle, fmt=request.GET.get("format"))
        except AppPermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.message)) from exc
        except ValidationFailed as exc:
            return HttpResponseBadRequest(str(exc.message))
        return export.as_response()
