"""The reviewer's pages: my panels, and every item assigned to me in a panel on one score page. RDEC's pages:
the list of panels and a panel's set-up page (members, chair, reserve members, recusals).

The score page only renders; drafts, submits and recusals go through the API (`/api/v1/score-sheets/`), so
the page and any other client share one set of rules (services) and one error format. The set-up page posts
forms to the generic review services, which every process (proposals, theses, budget) links to by the URL name
`reviews:panel` with the panel's pk.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView, TemplateView

from accounts.roles import is_rdec_staff
from workflow_site.errors import NotFound
from workflow_site.errors import PermissionDenied as AppPermissionDenied
from workflow_site.permissions import granting_principal
from workflow_site.selectors import transition_history
from workflow_site.transitions import available_transitions
from workflow_site.views import run_service

from . import selectors, services
from .forms import AdoptionAnswerForm, PanelMemberAddForm
from .models import Adoption, Criterion, Panel, ScoreSheet


@dataclass
class CriterionInput:
    criterion: Criterion
    value: str  # as saved ("" when not scored yet)


@dataclass
class SheetRow:
    sheet: ScoreSheet
    agency: str | None  # None when hidden from reviewers or unknown
    editable: bool
    inputs: list[CriterionInput]


class ScorePageView(LoginRequiredMixin, TemplateView):
    """One page with every item of the panel assigned to the signed-in reviewer: their own sheets only."""

    template_name = "reviews/score_page.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sheets = list(selectors.sheets_for_reviewer(user=self.request.user, panel_id=kwargs["panel_id"]))
        if not sheets:
            raise Http404
        panel = sheets[0].panel
        criteria = list(Criterion.objects.filter(rubric_id=panel.rubric_id).order_by("order"))
        scoring_open = panel.status == Panel.Status.SCORING
        open_states = (ScoreSheet.Status.NOT_STARTED, ScoreSheet.Status.DRAFT)
        context["panel"] = panel
        context["criteria"] = criteria
        context["sheets"] = sheets
        context["rows"] = [
            SheetRow(
                sheet=sheet,
                agency=None if panel.hide_agency or sheet.item.agency is None else sheet.item.agency.name,
                editable=scoring_open and sheet.status in open_states,
                inputs=[CriterionInput(c, str(sheet.scores.get(c.code, ""))) for c in criteria],
            )
            for sheet in sheets
        ]
        context["score_messages"] = {
            "saved": _("已暫存"),
            "saving": _("暫存中…"),
            "draft": _("暫存中"),
            "failed": _("暫存失敗："),
            "partlySaved": _("其他欄位已暫存，下列分數未暫存："),
            "invalid": _("（超出範圍的分數未計入）"),
            "offline": _("無法連線，請稍後再試。"),
            "submitted": _("已送出"),
            "submitFailed": _("送出失敗："),
            "confirm": _("送出後不能再修改，確定送出？"),
            "conflictPrompt": _("請說明迴避理由："),
            "conflictFailed": _("申請迴避失敗："),
            "recused": _("迴避"),
            "incomplete": _("（尚有項目未評分）"),
        }
        context["counts"] = {
            "total": len(sheets),
            "submitted": sum(1 for s in sheets if s.status == ScoreSheet.Status.SUBMITTED),
            "recused": sum(1 for s in sheets if s.status == ScoreSheet.Status.RECUSED),
        }
        return context


class MyPanelsView(LoginRequiredMixin, TemplateView):
    """The panels I sit on, with how many of my sheets I have submitted: two queries."""

    template_name = "reviews/my_panels.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        panels = list(selectors.panels_for_reviewer(user=user))
        counts = selectors.reviewer_panel_counts(user=user)
        empty = {"total": 0, "submitted": 0, "recused": 0}
        context["panels"] = [(panel, counts.get(panel.pk, empty)) for panel in panels]
        context["runs_panels"] = is_rdec_staff(user)
        return context


class ScoringIndexView(LoginRequiredMixin, View):
    """The 評分 menu entry: RDEC staff land on the panels they run, reviewers on the panels they sit on."""

    def get(self, request):
        return redirect("reviews:panels" if is_rdec_staff(request.user) else "reviews:my-panels")


def _require_rdec_staff(user) -> None:
    """Panels are set up by RDEC: anyone else (agencies, reviewers, applicants) is refused with a 403."""
    if not is_rdec_staff(user):
        raise PermissionDenied(_("只有研考會人員可以管理審查會。"))


def _manages_panels(user) -> bool:
    """RDEC officers (and administrators) change a panel; a supervisor reads it. Acting substitutes count."""
    try:
        granting_principal(user, "reviews.run_panel")
    except AppPermissionDenied:
        return False
    return True


class PanelListView(LoginRequiredMixin, ListView):
    """Every panel for RDEC staff: which round it scores, its state and members, newest first. Constant queries."""

    template_name = "reviews/panel_list.html"
    context_object_name = "panels"
    paginate_by = 50

    def get_queryset(self):
        _require_rdec_staff(self.request.user)
        return selectors.panel_list(viewer=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(panel, _process_label(panel)) for panel in context["panels"]]
        return context


def _process_label(panel: Panel) -> str:
    """What the panel reviews, by its round's kind (提案年度, 論文獎補助年度): no query, content types are cached."""
    model = panel.round_type.model_class()
    return str(model._meta.verbose_name) if model is not None else ""


class PanelSetupView(LoginRequiredMixin, View):
    """A panel's set-up page for RDEC: its members (chair, reserve), adding reviewers from the pool, removing a
    member while it forms, and the recusals declared. Officers change it; supervisors read it. Constant queries."""

    template_name = "reviews/panel_setup.html"

    def _panel(self, request, pk: int) -> Panel:
        _require_rdec_staff(request.user)
        try:
            return selectors.panel_for_setup(viewer=request.user, panel_id=pk)
        except NotFound as exc:
            raise Http404 from exc

    def _render(self, request, panel: Panel, form: PanelMemberAddForm | None = None):
        manages = _manages_panels(request.user)
        can_add = manages and panel.status != Panel.Status.FINALISED
        pool = selectors.reviewer_pool(panel=panel)
        members = list(panel.members.all())
        context = {
            "panel": panel,
            "process": _process_label(panel),
            "members": members,
            "member_count": sum(1 for m in members if not m.reserve),
            "external_count": sum(1 for m in members if not m.reserve and m.kind == m.Kind.EXTERNAL),
            "problems": panel.composition_problems() if panel.status == Panel.Status.FORMING else [],
            "manages": manages,
            "can_remove": manages and panel.status == Panel.Status.FORMING,
            "can_set_chair": manages and panel.status != Panel.Status.FINALISED,
            "form": (form or PanelMemberAddForm(panel=panel, pool=pool)) if can_add else None,
            "recusals": selectors.panel_recusals(panel),
            "history": transition_history(panel),
        }
        return render(request, self.template_name, context)

    def get(self, request, pk: int):
        return self._render(request, self._panel(request, pk))

    def post(self, request, pk: int):
        panel = self._panel(request, pk)
        if not _manages_panels(request.user):
            raise PermissionDenied(_("只有研考會承辦人可以變更審查會委員。"))
        form = PanelMemberAddForm(request.POST, panel=panel, pool=selectors.reviewer_pool(panel=panel))
        if form.is_valid():
            data = form.cleaned_data
            added = run_service(
                request,
                lambda: services.panel_member_add(
                    panel_id=panel.pk,
                    actor=request.user,
                    user_id=data["user"].pk,
                    kind=data["kind"],
                    is_chair=data["is_chair"],
                    reserve=data["reserve"],
                ),
                _("已加入委員：%(name)s。") % {"name": data["user"]},
                form=form,
            )
            if added:
                return HttpResponseRedirect(reverse("reviews:panel", args=[panel.pk]))
        # Refused: the page again with what was chosen, the reason beside the field or in the messages.
        return self._render(request, selectors.panel_for_setup(viewer=request.user, panel_id=pk), form)


class PanelMemberActionView(LoginRequiredMixin, View):
    """POST a member's button on the set-up page (remove, make chair); back to the page with the outcome."""

    http_method_names = ["post"]

    def post(self, request, pk: int, member_id: int, action: str):
        _require_rdec_staff(request.user)
        get_object_or_404(selectors.panel_list(viewer=request.user), pk=pk)
        if action == "remove":
            run_service(
                request,
                lambda: services.panel_member_remove(
                    panel_id=pk, member_id=member_id, actor=request.user, reason=request.POST.get("reason", "")
                ),
                _("已移除委員。"),
            )
        elif action == "chair":
            run_service(
                request,
                lambda: services.panel_chair_set(panel_id=pk, member_id=member_id, actor=request.user),
                _("已變更召集人。"),
            )
        else:
            raise Http404
        return HttpResponseRedirect(reverse("reviews:panel", args=[pk]))


class AdoptionAnswerView(LoginRequiredMixin, View):
    """An adoption question's page: what was asked, and the agency's answer form while it is pending.

    One page for every process: a process subclasses it with its subject model, its answer service (which decides
    what an answer means for the subject), its URL names and what the subject is called:

        class ThesisAdoptionView(AdoptionAnswerView):
            subject_model = ThesisApplication
            subject_label = _("論文")
            url_name, subject_url_name = "theses:adoption", "theses:detail"
            respond = staticmethod(services.adoption_respond)
    """

    template_name = "reviews/adoption_answer.html"
    subject_model: type[models.Model]
    subject_label: str
    url_name: str  # this page, reversed with the adoption's pk
    subject_url_name: str  # the subject's page, reversed with its pk
    list_url_name: str = ""  # the process's list of questions, if it has one
    respond: Callable[..., Adoption]  # respond(adoption_id=, actor=, response=, reason=)

    def _adoption(self, pk: int) -> Adoption:
        qs = selectors.adoption_list(viewer=self.request.user, subject_model=self.subject_model)
        return get_object_or_404(qs.select_related("answered_by"), pk=pk)

    def _render(self, adoption: Adoption, form: AdoptionAnswerForm | None = None):
        can_respond = "respond" in available_transitions(adoption, self.request.user)
        context = {
            "adoption": adoption,
            "form": (form or AdoptionAnswerForm()) if can_respond else None,
            "history": transition_history(adoption),
            "subject_label": self.subject_label,
            "subject_url": reverse(self.subject_url_name, args=[adoption.subject_id]),
            "answer_url": reverse(self.url_name, args=[adoption.pk]),
            "list_url": reverse(self.list_url_name) if self.list_url_name else "",
        }
        return render(self.request, self.template_name, context)

    def get(self, request, pk: int):
        return self._render(self._adoption(pk))

    def post(self, request, pk: int):
        adoption = self._adoption(pk)
        form = AdoptionAnswerForm(request.POST)
        if form.is_valid():
            answered = run_service(
                request,
                lambda: type(self).respond(adoption_id=pk, actor=request.user, **form.cleaned_data),
                _("已回復參採意見。"),
                form=form,
            )
            if not answered.invalid:
                return HttpResponseRedirect(reverse(self.url_name, args=[pk]))
        return self._render(adoption, form)
