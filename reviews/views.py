"""The reviewer's pages: my panels, and every item assigned to me in a panel on one score page.

The score page only renders; drafts, submits and recusals go through the API (`/api/v1/score-sheets/`), so
the page and any other client share one set of rules (services) and one error format.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from workflow_site.selectors import transition_history
from workflow_site.transitions import available_transitions
from workflow_site.views import run_service

from . import selectors
from .forms import AdoptionAnswerForm
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
        return context


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
