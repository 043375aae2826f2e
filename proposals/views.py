"""The 市政創新提案 back office: proposals, their transitions, the round page and adoption answers.

Views read through proposals.selectors and write only through proposals.services. A refused request (409, a
rule broken) comes back as a message on the page it was made from; what the user may not see is a 404 and
what they may not do a 403, as in the API.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from accounts.roles import Role, is_rdec_staff, user_roles
from accounts.selectors import agency_list
from reviews.models import Panel
from reviews.selectors import panel_progress
from reviews.views import AdoptionAnswerView
from workflow_site.actions import Action, ActionTable, TransitionPostView
from workflow_site.selectors import transition_history
from workflow_site.views import run_service

from . import guidance, selectors, services
from .forms import (
    AttachmentForm,
    CriterionFormSet,
    NewProposalForm,
    ProposalFilterForm,
    ProposalForm,
    RoundForm,
)
from .models import Grade, Proposal, ProposalRound


def _visible_proposal(user, pk: int) -> Proposal:
    return get_object_or_404(selectors.proposal_list(viewer=user).prefetch_related("attachments"), pk=pk)


def _open_rounds():
    return selectors.open_rounds()


def _is_clerk(user) -> bool:
    return Role.AGENCY_CLERK in user_roles(user) and user.agency_id is not None


# ---------------------------------------------------------------- proposals


class ProposalListView(LoginRequiredMixin, ListView):
    """The proposals the user may see, by round and status; a constant number of queries per page."""

    template_name = "proposals/list.html"
    context_object_name = "proposals"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = ProposalFilterForm(self.request.GET or None, rounds=selectors.round_list())
        qs = selectors.proposal_list(viewer=self.request.user)
        if self.filter_form.is_bound and self.filter_form.is_valid():
            if self.filter_form.cleaned_data["round"]:
                qs = qs.filter(round=self.filter_form.cleaned_data["round"])
            if self.filter_form.cleaned_data["status"]:
                qs = qs.filter(status=self.filter_form.cleaned_data["status"])
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["filter_form"] = self.filter_form
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
        context["can_create"] = _is_clerk(user) and _open_rounds().exists()
        context["is_rdec"] = is_rdec_staff(user)
        context["rounds"] = list(self.filter_form.fields["round"].queryset) if context["is_rdec"] else []
        return context


class ProposalCreateView(LoginRequiredMixin, View):
    """A clerk drafts a proposal, with an optional first attachment: both saved, or neither."""

    template_name = "proposals/form.html"

    def _form(self, data=None, files=None):
        rounds = _open_rounds()
        initial = {"round": self.request.GET.get("round") or next(iter(rounds.values_list("pk", flat=True)), None)}
        return NewProposalForm(data, files, rounds=rounds, initial=initial)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_clerk(request.user):
            raise DjangoPermissionDenied(_("只有機關承辦人可以建立提案。"))
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form):
        return render(self.request, self.template_name, {"form": form, "proposal": None})

    def get(self, request):
        form = self._form()
        if not form.fields["round"].queryset.exists():
            messages.error(request, _("本年度目前不受理提案。"))
            return HttpResponseRedirect(reverse("proposals:list"))
        return self._render(form)

    def post(self, request):
        form = self._form(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        data = dict(form.cleaned_data)
        round_, upload = data.pop("round"), data.pop("file")

        def create() -> Proposal:
            # One transaction: a rejected attachment leaves no proposal behind.
            with transaction.atomic():
                proposal = services.proposal_create(actor=request.user, round_id=round_.pk, **data)
                if upload:
                    services.attachment_add(proposal_id=proposal.pk, actor=request.user, upload=upload)
            return proposal

        created = run_service(request, create, _("已建立提案草稿。"), form=form)
        if not created:
            return self._render(form)
        return HttpResponseRedirect(reverse("proposals:detail", args=[created.result.pk]))


class ProposalEditView(LoginRequiredMixin, View):
    """The clerk edits a draft."""

    template_name = "proposals/form.html"

    def _proposal(self, pk: int) -> Proposal:
        proposal = _visible_proposal(self.request.user, pk)
        if not self.request.user.has_perm("proposals.draft_proposal", proposal):
            raise DjangoPermissionDenied()
        return proposal

    def get(self, request, pk: int):
        proposal = self._proposal(pk)
        if proposal.status != Proposal.Status.DRAFT:
            messages.error(request, _("只有草稿可以修改。"))
            return HttpResponseRedirect(reverse("proposals:detail", args=[pk]))
        form = ProposalForm(instance=proposal, with_file=False)
        return render(request, self.template_name, {"form": form, "proposal": proposal})

    def post(self, request, pk: int):
        proposal = self._proposal(pk)
        form = ProposalForm(request.POST, instance=proposal, with_file=False)
        if form.is_valid():
            saved = run_service(
                request,
                lambda: services.proposal_update(actor=request.user, proposal_id=pk, **form.cleaned_data),
                _("已儲存草稿。"),
                form=form,
            )
            if not saved.invalid:  # saved, or refused (no longer a draft): the message says which
                return HttpResponseRedirect(reverse("proposals:detail", args=[pk]))
        return render(request, self.template_name, {"form": form, "proposal": proposal})


def _agency_ids(data) -> list[int]:
    try:
        return [int(v) for v in data.getlist("agencies")]
    except ValueError as exc:
        raise ValidationError({"agencies": [_("請選擇有效的受文機關。")]}) from exc


# The buttons of a proposal's page: which ones show is the transitions' business (state, stage conditions,
# permission), so a page never repeats a rule the model states.
PROPOSAL_ACTIONS = ActionTable(
    Action(
        "submit",
        gettext_lazy("送出核定"),
        gettext_lazy("已送出，待機關主管核定。"),
        lambda pk, user, data: services.proposal_submit(proposal_id=pk, actor=user),
    ),
    Action(
        "approve",
        gettext_lazy("核定送出"),
        gettext_lazy("已核定，提案已送研考會。"),
        lambda pk, user, data: services.proposal_approve(proposal_id=pk, actor=user),
        confirm=guidance.confirm_approve,
    ),
    Action(
        "return_to_draft",
        gettext_lazy("退回"),
        gettext_lazy("已退回承辦人修改。"),
        lambda pk, user, data: services.proposal_return(proposal_id=pk, actor=user, reason=data.get("reason", "")),
        reason="required",
        style="mdc-button--outlined",
    ),
    Action(
        "pass_screening",
        gettext_lazy("初審通過"),
        gettext_lazy("已完成書面初審：通過。"),
        lambda pk, user, data: services.proposal_screen(
            proposal_id=pk, actor=user, passed=True, reason=data.get("reason", "")
        ),
        reason="optional",
        confirm=guidance.confirm_pass_screening,
    ),
    Action(
        "fail_screening",
        gettext_lazy("初審不通過"),
        gettext_lazy("已完成書面初審：不通過。"),
        lambda pk, user, data: services.proposal_screen(
            proposal_id=pk, actor=user, passed=False, reason=data.get("reason", "")
        ),
        reason="required",
        style="mdc-button--outlined",
        confirm=guidance.confirm_fail_screening,
    ),
    Action(
        "forward",
        gettext_lazy("轉請參採"),
        gettext_lazy("已轉請相關機關參採。"),
        lambda pk, user, data: services.proposal_forward(proposal_id=pk, actor=user, agency_ids=_agency_ids(data)),
    ),
    Action(
        "withdraw",
        gettext_lazy("撤回"),
        gettext_lazy("已撤回提案。"),
        lambda pk, user, data: services.proposal_withdraw(proposal_id=pk, actor=user, reason=data.get("reason", "")),
        reason="optional",
        style="mdc-button--outlined",
        confirm=guidance.confirm_withdraw,
    ),
)


class ProposalDetailView(LoginRequiredMixin, View):
    template_name = "proposals/detail.html"

    def get(self, request, pk: int):
        proposal = _visible_proposal(request.user, pk)
        actions = PROPOSAL_ACTIONS.for_object(proposal, request.user)
        can_attach = proposal.status == Proposal.Status.DRAFT and request.user.has_perm(
            "proposals.draft_proposal", proposal
        )
        context = {
            "proposal": proposal,
            "attachments": list(proposal.attachments.all()),
            "history": transition_history(proposal),
            "actions": actions,
            "can_edit": can_attach,
            "attachment_form": AttachmentForm() if can_attach else None,
            "agencies": agency_list().filter(active=True) if any(a.name == "forward" for a in actions) else [],
            "grade_label": dict(Grade.choices).get(proposal.grade, ""),
            "next_step": guidance.proposal_next_step(proposal),
        }
        return render(request, self.template_name, context)


class ProposalTransitionView(TransitionPostView):
    """POST one of the proposal's buttons: the matching service runs; back to the proposal with a message."""

    actions = PROPOSAL_ACTIONS
    redirect_url_name = "proposals:detail"

    def get_object(self, request, pk: int) -> Proposal:
        return _visible_proposal(request.user, pk)


class AttachmentUploadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        _visible_proposal(request.user, pk)
        form = AttachmentForm(request.POST, request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for message in errors:
                    messages.error(request, message)
        else:
            upload = form.cleaned_data["file"]
            run_service(
                request,
                lambda: services.attachment_add(proposal_id=pk, actor=request.user, upload=upload),
                _("已上傳附件「%(name)s」。") % {"name": upload.name},
            )
        return HttpResponseRedirect(reverse("proposals:detail", args=[pk]))


class AttachmentDownloadView(LoginRequiredMixin, View):
    """An attachment of a proposal the user may see (media files are never served directly)."""

    def get(self, request, pk: int, attachment_id: int):
        proposal = _visible_proposal(request.user, pk)
        attachment = get_object_or_404(proposal.attachments.all(), pk=attachment_id)
        return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)


# ---------------------------------------------------------------- rounds


def _round_action(name: str, label, done, service, **options) -> Action:
    return Action(name, label, done, lambda pk, user, data: service(round_id=pk, actor=user), **options)


ROUND_ACTIONS = ActionTable(
    _round_action("open", gettext_lazy("開始受理提案"), gettext_lazy("已開始受理提案。"), services.round_open),
    _round_action(
        "close_submissions",
        gettext_lazy("截止收件"),
        gettext_lazy("已截止收件，進入書面初審。"),
        services.round_close_submissions,
        confirm=guidance.confirm_close_submissions,
    ),
    Action(
        "reopen_submissions",
        gettext_lazy("重新開放收件"),
        gettext_lazy("已重新開放收件，各機關可以再送出提案。"),
        lambda pk, user, data: services.round_reopen_submissions(
            round_id=pk, actor=user, reason=data.get("reason", "")
        ),
        reason="required",
        style="mdc-button--outlined",
    ),
    _round_action(
        "start_scoring",
        gettext_lazy("開始評分"),
        gettext_lazy("已開始委員評分。"),
        services.round_start_scoring,
        confirm=guidance.confirm_start_scoring,
    ),
    _round_action(
        "close_scoring",
        gettext_lazy("結束評分"),
        gettext_lazy("已結束評分，可預覽結果。"),
        services.round_close_scoring,
        confirm=guidance.confirm_close_scoring,
    ),
    _round_action(
        "finalise",
        gettext_lazy("核定結果"),
        gettext_lazy("已確定評定結果。"),
        services.round_finalise,
        confirm=guidance.confirm_finalise,
    ),
    _round_action(
        "publish",
        gettext_lazy("公布結果"),
        gettext_lazy("已公布結果。"),
        services.round_publish,
        confirm=guidance.confirm_publish,
    ),
    _round_action(
        "close",
        gettext_lazy("結案"),
        gettext_lazy("本年度已結案。"),
        services.round_close,
        confirm=guidance.confirm_close_round,
    ),
)


def _staff_round(user, pk: int) -> ProposalRound:
    if not user.has_perm("proposals.finalise_round"):
        raise DjangoPermissionDenied()
    return get_object_or_404(selectors.round_list(), pk=pk)


def _preview(round_: ProposalRound, user) -> tuple[list[dict], list[dict]]:
    """The what-if ranking rows and boundary ties, titled with the proposals."""
    evaluation = selectors.round_preview(round_=round_, viewer=user)
    subjects = dict(round_.panel.items.values_list("pk", "subject_id"))
    proposals = round_.proposals.filter(pk__in=subjects.values()).select_related("agency").in_bulk()
    grades = dict(Grade.choices)
    tied = {item_id for tie in evaluation.outcome.ties for item_id in tie.item_ids}
    rows = [
        {
            "proposal": proposals[subjects[r.item_id]],
            "rank": r.rank,
            "score": r.score,
            "grade": grades.get(r.grade, r.grade),
            "tied": r.item_id in tied,
        }
        for r in evaluation.outcome.ranked
    ]
    ties = [
        {
            "grade": grades.get(t.grade, t.grade),
            "seats": t.seats,
            "proposals": [proposals[subjects[i]] for i in t.item_ids],
        }
        for t in evaluation.outcome.ties
    ]
    return rows, ties


class RoundDetailView(LoginRequiredMixin, View):
    """RDEC's page of a round: stage, dates, what it waits for, panel progress, the round's buttons and the what-if
    preview."""

    template_name = "proposals/round.html"

    def get(self, request, pk: int):
        round_ = _staff_round(request.user, pk)
        preview_rows, ties = [], []
        if round_.panel and round_.panel.status in (Panel.Status.CLOSED, Panel.Status.FINALISED):
            preview_rows, ties = _preview(round_, request.user)
        counts = selectors.round_counts(round_=round_)
        can_run = request.user.has_perm("proposals.run_round")
        context = {
            "round": round_,
            "actions": ROUND_ACTIONS.for_object(round_, request.user),
            "next_step": guidance.round_next_step(round_, counts, can_run=can_run, ties=len(ties)),
            "counts": [(label, counts[value]) for value, label in Proposal.Status.choices if counts[value]],
            "can_edit": can_run and round_.is_configurable,
            "progress": panel_progress(round_.panel) if round_.panel else [],
            "preview_rows": preview_rows,
            "ties": ties,
            "quotas": [
                {"label": dict(Grade.choices).get(q["grade"], q["grade"]), "count": q["count"]}
                for q in round_.grade_quotas
            ],
            "forward_grades": [dict(Grade.choices).get(g, g) for g in round_.forward_grades],
            "export_url": reverse("api:proposal-round-detail", args=[round_.pk]) + "export/",
            "history": transition_history(round_),
        }
        return render(request, self.template_name, context)


class RoundListView(LoginRequiredMixin, ListView):
    """RDEC's list of rounds, newest first, with their proposals counted: one query for the page."""

    template_name = "proposals/round_list.html"
    context_object_name = "rounds"
    paginate_by = 50

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("proposals.finalise_round"):
            raise DjangoPermissionDenied()
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.round_overview()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_create"] = self.request.user.has_perm("proposals.run_round")
        return context


class RoundFormView(LoginRequiredMixin, View):
    """新增提案年度 and its settings page: the round's dates (ROC), the rubric (copied from an earlier round or typed
    row by row), the panel's rule and the grades' quotas. Only RDEC officers (403 for anyone else); what was typed
    stays on the page when it is refused."""

    template_name = "proposals/round_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("proposals.run_round"):
            raise DjangoPermissionDenied(_("只有研考會承辦人可以設定提案年度。"))
        return super().dispatch(request, *args, **kwargs)

    def _rounds(self, exclude=None):
        rounds = selectors.round_list().filter(panel__isnull=False)
        return [r for r in rounds if r.pk != exclude]

    def _render(self, form, formset, round_=None):
        context = {"form": form, "formset": formset, "round": round_}
        return render(self.request, self.template_name, context)

    @staticmethod
    def _valid(form, formset) -> bool:
        """The rows count only when the rubric is not copied from an earlier round."""
        return form.is_valid() and (bool(form.cleaned_data["rubric_source"]) or formset.is_valid())

    def _criteria(self, form, formset, rubric_rounds, *, editing: bool = False):
        """The rubric the form asks for: an earlier round's copied, the rows typed, or None (editing, rows as they
        were: the round keeps its rubric)."""
        source = form.cleaned_data["rubric_source"]
        if source:
            return selectors.round_rubric(next(r for r in rubric_rounds if str(r.pk) == source))
        if editing and not formset.has_changed():
            return None
        return formset.criteria()


class RoundCreateView(RoundFormView):
    def get(self, request):
        rounds = self._rounds()
        initial = {}
        if rounds:  # the latest round's rule, quotas and rubric, as a start
            carried = ("aggregation", "min_members", "min_external", "hide_agency", "forward_grades")
            initial = {
                key: value
                for key, value in RoundForm.initial_from(rounds[0]).items()
                if key in carried or key.startswith(("quota_", "min_score_"))
            }
            initial["rubric_source"] = str(rounds[0].pk)
        return self._render(RoundForm(rubric_rounds=rounds, initial=initial), CriterionFormSet(prefix="criteria"))

    def post(self, request):
        rounds = self._rounds()
        form = RoundForm(request.POST, rubric_rounds=rounds)
        formset = CriterionFormSet(request.POST, prefix="criteria")
        if not self._valid(form, formset):
            return self._render(form, formset)
        settings = form.settings()
        created = run_service(
            request,
            lambda: services.round_create(actor=request.user, rubric=self._criteria(form, formset, rounds), **settings),
            _("已新增「%(title)s」，請加入審查委員後開始受理提案。") % {"title": settings["title"]},
            form=form,
        )
        if not created:
            return self._render(form, formset)
        return HttpResponseRedirect(reverse("proposals:round", args=[created.result.pk]))


class RoundEditView(RoundFormView):
    def _round(self, pk: int) -> ProposalRound:
        round_ = get_object_or_404(selectors.round_list(), pk=pk)
        if not round_.is_configurable:
            messages.error(self.request, _("本年度已截止收件，不能再修改設定。"))
        return round_

    def _criteria_initial(self, round_):
        return [
            {"name": c["name"], "weight": c["weight"], "max_score": c["max_score"]}
            for c in selectors.round_rubric(round_)
        ]

    def get(self, request, pk: int):
        round_ = self._round(pk)
        if not round_.is_configurable:
            return HttpResponseRedirect(reverse("proposals:round", args=[pk]))
        form = RoundForm(rubric_rounds=self._rounds(exclude=pk), initial=RoundForm.initial_from(round_))
        formset = CriterionFormSet(prefix="criteria", initial=self._criteria_initial(round_))
        return self._render(form, formset, round_)

    def post(self, request, pk: int):
        round_ = self._round(pk)
        if not round_.is_configurable:
            return HttpResponseRedirect(reverse("proposals:round", args=[pk]))
        rounds = self._rounds(exclude=pk)
        form = RoundForm(request.POST, rubric_rounds=rounds)
        formset = CriterionFormSet(request.POST, prefix="criteria", initial=self._criteria_initial(round_))
        if not self._valid(form, formset):
            return self._render(form, formset, round_)
        saved = run_service(
            request,
            lambda: services.round_update(
                round_id=pk,
                actor=request.user,
                rubric=self._criteria(form, formset, rounds, editing=True),
                **form.settings(),
            ),
            _("已儲存本年度設定。"),
            form=form,
        )
        if saved.invalid:
            return self._render(form, formset, round_)
        return HttpResponseRedirect(reverse("proposals:round", args=[pk]))


class RoundTransitionView(TransitionPostView):
    """POST one of the round's buttons (RDEC staff only: 403 for anyone else)."""

    actions = ROUND_ACTIONS
    redirect_url_name = "proposals:round"

    def get_object(self, request, pk: int) -> ProposalRound:
        return _staff_round(request.user, pk)


# ---------------------------------------------------------------- adoptions


class AdoptionListView(LoginRequiredMixin, ListView):
    """My agency's adoption questions (RDEC staff: all), soonest due first."""

    template_name = "proposals/adoption_list.html"
    context_object_name = "adoptions"
    paginate_by = 50

    def get_queryset(self):
        return selectors.adoption_list(viewer=self.request.user)


class AdoptionDetailView(AdoptionAnswerView):
    """An agency answers whether it adopts a forwarded proposal (the review engine's answer page)."""

    subject_model = Proposal
    subject_label = gettext_lazy("提案")
    url_name, subject_url_name, list_url_name = "proposals:adoption", "proposals:detail", "proposals:adoptions"
    respond = staticmethod(services.adoption_respond)
