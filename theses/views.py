"""The 學位論文獎補助 pages: applicants' applications (apply, upload, send, final thesis) and RDEC's calls
(screening, review, decisions, results).

Views read through theses.selectors and write only through theses.services. A refused request comes back as a
message on the page it was made from; what the user may not see is a 404 and what they may not do a 403.
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
from reviews.selectors import panel_progress
from reviews.views import AdoptionAnswerView
from workflow_site.actions import Action, ActionTable, TransitionPostView
from workflow_site.selectors import transition_history
from workflow_site.views import run_service

from . import guidance, selectors, services
from .forms import (
    ApplicationFilterForm,
    CallForm,
    CriterionFormSet,
    DocumentForm,
    FinalForm,
    NewApplicationForm,
    ProfileForm,
)
from .models import Kind, ThesisApplication, ThesisCall, ThesisDocument

S = ThesisApplication.Status


def _visible_application(user, pk: int) -> ThesisApplication:
    return get_object_or_404(selectors.application_list(viewer=user), pk=pk)


def _is_applicant(user) -> bool:
    return Role.APPLICANT in user_roles(user)


# ---------------------------------------------------------------- applications


class ApplicationListView(LoginRequiredMixin, ListView):
    """The applications the user may see (an applicant: their own); a constant number of queries per page."""

    template_name = "theses/list.html"
    context_object_name = "applications"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = ApplicationFilterForm(self.request.GET or None, calls=selectors.call_list())
        qs = selectors.application_list(viewer=self.request.user)
        if self.filter_form.is_valid():
            if self.filter_form.cleaned_data["call"]:
                qs = qs.filter(call=self.filter_form.cleaned_data["call"])
            if self.filter_form.cleaned_data["status"]:
                qs = qs.filter(status=self.filter_form.cleaned_data["status"])
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        applicant = _is_applicant(user)
        profile = selectors.profile_of(user) if applicant else None
        context.update(
            filter_form=self.filter_form,
            is_applicant=applicant,
            profile_missing=applicant and not (profile and profile.is_complete),
            can_apply=applicant and selectors.open_calls().exists(),
            is_staff=is_rdec_staff(user),
            calls=selectors.call_list() if is_rdec_staff(user) else [],
            can_create_call=user.has_perm("theses.run_call"),
        )
        return context


class ApplicationCreateView(LoginRequiredMixin, View):
    """An applicant drafts an application, with an optional first document: both saved, or neither."""

    template_name = "theses/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_applicant(request.user):
            raise DjangoPermissionDenied(_("只有已註冊的申請人可以申請。"))
        return super().dispatch(request, *args, **kwargs)

    def _form(self, data=None, files=None):
        return NewApplicationForm(data, files, calls=selectors.open_calls())

    def _render(self, form):
        context = {
            "form": form,
            "heading": _("新增申請"),
            "action": reverse("theses:create"),
            "submit_label": _("儲存草稿"),
        }
        return render(self.request, self.template_name, context)

    def get(self, request):
        form = self._form()
        if not form.fields["call"].queryset.exists():
            messages.error(request, _("目前沒有受理申請的年度。"))
            return HttpResponseRedirect(reverse("theses:list"))
        return self._render(form)

    def post(self, request):
        form = self._form(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        data = dict(form.cleaned_data)
        call, kind, upload = data.pop("call"), data.pop("kind"), data.pop("file")

        def create() -> ThesisApplication:
            with transaction.atomic():  # a refused file leaves no application behind
                application = services.application_create(actor=request.user, call_id=call.pk, kind=kind, **data)
                if upload:
                    role = services.REQUIRED_DOCUMENT[application.kind]
                    services.document_add(actor=request.user, application_id=application.pk, role=role, upload=upload)
            return application

        created = run_service(request, create, _("已建立申請草稿。"), form=form)
        if not created:
            return self._render(form)
        return HttpResponseRedirect(reverse("theses:detail", args=[created.result.pk]))


class ProfileView(LoginRequiredMixin, View):
    """申請人資料: the applicant's school, department, degree, advisor and dates (services.profile_set). Required
    before the first application; what was typed stays on the page when it is refused."""

    template_name = "theses/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_applicant(request.user):
            raise DjangoPermissionDenied(_("只有申請人有申請人資料。"))
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form):
        context = {
            "form": form,
            "heading": _("申請人資料"),
            "intro": _("申請前請填寫就讀學校、系所、學位與指導教授；不需要身分證字號。"),
            "action": reverse("theses:profile"),
            "submit_label": _("儲存"),
        }
        return render(self.request, self.template_name, context)

    def get(self, request):
        return self._render(ProfileForm(instance=selectors.profile_of(request.user)))

    def post(self, request):
        form = ProfileForm(request.POST, instance=selectors.profile_of(request.user))
        if not form.is_valid():
            return self._render(form)
        saved = run_service(
            request,
            lambda: services.profile_set(actor=request.user, **form.cleaned_data),
            _("已儲存申請人資料。"),
            form=form,
        )
        if not saved:
            return self._render(form)
        return HttpResponseRedirect(reverse("theses:list"))


def _agency_ids(data) -> list[int]:
    try:
        return [int(v) for v in data.getlist("agencies")]
    except ValueError as exc:
        raise ValidationError({"agencies": [_("請選擇有效的受文機關。")]}) from exc


APPLICATION_ACTIONS = ActionTable(
    Action(
        "submit",
        gettext_lazy("送出申請"),
        gettext_lazy("已送出申請，研考會將進行資格審查。"),
        lambda pk, user, data: services.application_submit(actor=user, application_id=pk),
    ),
    Action(
        "accept_eligibility",
        gettext_lazy("資格符合"),
        gettext_lazy("已完成資格審查：符合。"),
        lambda pk, user, data: services.application_screen(
            actor=user, application_id=pk, eligible=True, reason=data.get("reason", "")
        ),
        reason="optional",
    ),
    Action(
        "refuse_eligibility",
        gettext_lazy("資格不符"),
        gettext_lazy("已完成資格審查：不符。"),
        lambda pk, user, data: services.application_screen(
            actor=user, application_id=pk, eligible=False, reason=data.get("reason", "")
        ),
        reason="required",
        style="mdc-button--outlined",
        confirm=guidance.confirm_refuse_eligibility,
    ),
    Action(
        "return_for_documents",
        gettext_lazy("退回補件"),
        gettext_lazy("已退回申請人補件。"),
        lambda pk, user, data: services.application_return(actor=user, application_id=pk, note=data.get("reason", "")),
        reason="required",
        style="mdc-button--outlined",
    ),
    Action(
        "accept_final",
        gettext_lazy("驗收完稿"),
        gettext_lazy("已驗收論文完稿。"),
        lambda pk, user, data: services.application_accept_final(actor=user, application_id=pk),
        confirm=guidance.confirm_accept_final,
    ),
    Action(
        "cancel",
        gettext_lazy("撤銷補助"),
        gettext_lazy("已撤銷補助。"),
        lambda pk, user, data: services.application_cancel(
            actor=user, application_id=pk, reason=data.get("reason", "")
        ),
        reason="required",
        style="mdc-button--outlined",
        confirm=guidance.confirm_cancel,
    ),
    Action(
        "forward",
        gettext_lazy("函送機關參採"),
        gettext_lazy("已函送相關機關參採。"),
        lambda pk, user, data: services.application_forward(
            actor=user, application_id=pk, agency_ids=_agency_ids(data)
        ),
    ),
    Action(
        "close",
        gettext_lazy("結案"),
        gettext_lazy("已結案。"),
        lambda pk, user, data: services.application_close(actor=user, application_id=pk),
        confirm=guidance.confirm_close_application,
    ),
    Action(
        "withdraw",
        gettext_lazy("撤回申請"),
        gettext_lazy("已撤回申請。"),
        lambda pk, user, data: services.application_withdraw(
            actor=user, application_id=pk, reason=data.get("reason", "")
        ),
        reason="optional",
        style="mdc-button--outlined",
        confirm=guidance.confirm_withdraw,
    ),
)


class ApplicationDetailView(LoginRequiredMixin, View):
    template_name = "theses/detail.html"

    def get(self, request, pk: int):
        application = _visible_application(request.user, pk)
        own = application.applicant_id == request.user.pk
        editable = own and application.status in (S.DRAFT, S.RETURNED)
        final_due = own and application.kind == "subsidy" and application.status in (S.APPROVED, S.OVERDUE)
        shows_applicant = selectors.shows_applicant(request.user, application)
        actions = APPLICATION_ACTIONS.for_object(application, request.user)
        context = {
            "application": application,
            "shows_applicant": shows_applicant,
            "documents": [
                (document, selectors.document_name(document, shows_applicant=shows_applicant))
                for document in application.documents.all()
            ],
            # The log names the applicant as the actor of their own steps: not for a blind reviewer.
            "history": transition_history(application) if shows_applicant else [],
            "actions": actions,
            "agencies": agency_list().filter(active=True) if any(a.name == "forward" for a in actions) else [],
            "adoptions": list(application.adoptions.select_related("agency")) if is_rdec_staff(request.user) else [],
            "document_form": DocumentForm() if editable else None,
            "final_form": FinalForm() if final_due else None,
            "next_step": guidance.application_next_step(application) if shows_applicant else "",
        }
        return render(request, self.template_name, context)


class ApplicationTransitionView(TransitionPostView):
    """POST one of the application's buttons: the matching service runs; back to the application with a message."""

    actions = APPLICATION_ACTIONS
    redirect_url_name = "theses:detail"

    def get_object(self, request, pk: int) -> ThesisApplication:
        return _visible_application(request.user, pk)


def _report_form_errors(request, form) -> None:
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)


class DocumentUploadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        _visible_application(request.user, pk)
        form = DocumentForm(request.POST, request.FILES)
        if not form.is_valid():
            _report_form_errors(request, form)
        else:
            upload = form.cleaned_data["file"]
            run_service(
                request,
                lambda: services.document_add(
                    actor=request.user, application_id=pk, role=form.cleaned_data["role"], upload=upload
                ),
                _("已上傳「%(name)s」。") % {"name": upload.name},
            )
        return HttpResponseRedirect(reverse("theses:detail", args=[pk]))


class FinalUploadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        _visible_application(request.user, pk)
        form = FinalForm(request.POST, request.FILES)
        if not form.is_valid():
            _report_form_errors(request, form)
        else:
            run_service(
                request,
                lambda: services.application_submit_final(
                    actor=request.user, application_id=pk, upload=form.cleaned_data["file"]
                ),
                _("已繳交論文完稿，待研考會驗收。"),
            )
        return HttpResponseRedirect(reverse("theses:detail", args=[pk]))


class DocumentDownloadView(LoginRequiredMixin, View):
    """A document of an application the user may see (media files are never served directly)."""

    def get(self, request, pk: int, document_id: int):
        application = _visible_application(request.user, pk)
        document = get_object_or_404(ThesisDocument.objects.filter(application=application), pk=document_id)
        name = selectors.document_name(document, shows_applicant=selectors.shows_applicant(request.user, application))
        return FileResponse(document.file.open("rb"), as_attachment=True, filename=name)


# ---------------------------------------------------------------- calls (RDEC)


def _call_action(name: str, label, done, service, **options) -> Action:
    return Action(name, label, done, lambda pk, user, data: service(call_id=pk, actor=user), **options)


CALL_ACTIONS = ActionTable(
    _call_action("open", gettext_lazy("開始受理申請"), gettext_lazy("已開始受理申請。"), services.call_open),
    _call_action(
        "start_review",
        gettext_lazy("截止收件並開始審查"),
        gettext_lazy("已截止收件，委員開始評分。"),
        services.call_start_review,
        confirm=guidance.confirm_start_review,
    ),
    _call_action(
        "decide",
        gettext_lazy("核定結果"),
        gettext_lazy("已確定獎補助名單。"),
        services.call_decide,
        confirm=guidance.confirm_decide,
    ),
    _call_action(
        "close",
        gettext_lazy("結案"),
        gettext_lazy("本年度已結案。"),
        services.call_close,
        confirm=guidance.confirm_close_call,
    ),
)


def _staff_call(user, pk: int) -> ThesisCall:
    if not is_rdec_staff(user):
        raise DjangoPermissionDenied()
    return get_object_or_404(selectors.call_list(), pk=pk)


class CallCreateView(LoginRequiredMixin, View):
    """新增獎補助年度 (RDEC officers; 403 for anyone else): dates in ROC years, per kind and degree the quota and the
    amount (MoneyField), the panels' rule and each kind's rubric, copied from an earlier call or typed. What was
    typed stays on the page when it is refused."""

    template_name = "theses/call_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("theses.run_call"):
            raise DjangoPermissionDenied(_("只有研考會承辦人可以設定獎補助年度。"))
        return super().dispatch(request, *args, **kwargs)

    def _formsets(self, data=None):
        return {kind: CriterionFormSet(data, prefix=f"{kind}_criteria") for kind in Kind.values}

    def _render(self, form, formsets):
        kinds = dict(Kind.choices)
        context = {"form": form, "rubrics": [(kinds[k], form[f"{k}_rubric_source"], fs) for k, fs in formsets.items()]}
        return render(self.request, self.template_name, context)

    def get(self, request):
        calls = selectors.calls_with_rubrics()
        initial = {}
        if calls:  # the latest call's tracks, rule and rubrics, as a start
            latest = calls[0]
            for track in latest.tracks.all():
                prefix = f"{track.kind}_{track.degree}"
                initial.update(
                    {
                        f"{prefix}_quota": track.quota,
                        f"{prefix}_amount": track.amount,
                        f"{prefix}_min_score": track.min_score,
                    }
                )
            initial.update({f"{kind}_rubric_source": str(latest.pk) for kind in latest.kinds})
            initial.update(double_blind=latest.double_blind, retention_days=latest.retention_days)
        return self._render(CallForm(rubric_calls=calls, initial=initial), self._formsets())

    def post(self, request):
        calls = selectors.calls_with_rubrics()
        form = CallForm(request.POST, rubric_calls=calls)
        formsets = self._formsets(request.POST)
        if not form.is_valid():
            return self._render(form, formsets)
        rubrics = {}
        for kind in form.kinds():
            source = form.cleaned_data[f"{kind}_rubric_source"]
            if source:
                rubrics[kind] = next(c for c in calls if str(c.pk) == source).rubrics[kind]
            elif formsets[kind].is_valid():
                rubrics[kind] = formsets[kind].criteria()
            else:
                return self._render(form, formsets)
        settings = form.settings()
        created = run_service(
            request,
            lambda: services.call_create(actor=request.user, rubrics=rubrics, **settings),
            _("已新增「%(title)s」，請為各類別審查會加入委員後開始受理申請。") % {"title": settings["title"]},
            form=form,
        )
        if not created:
            return self._render(form, formsets)
        return HttpResponseRedirect(reverse("theses:call", args=[created.result.pk]))


class CallEditView(LoginRequiredMixin, View):
    """A call's settings page while it is planned (RDEC officers): dates, the double-blind rule, each track's quota,
    amount (MoneyField) and minimum score, the panels' rule. The year, the tracks and the rubrics stay."""

    template_name = "theses/call_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("theses.run_call"):
            raise DjangoPermissionDenied(_("只有研考會承辦人可以設定獎補助年度。"))
        return super().dispatch(request, *args, **kwargs)

    def _call(self, pk: int) -> ThesisCall | None:
        call = get_object_or_404(selectors.call_details(), pk=pk)
        if call.status != ThesisCall.Status.PLANNING:
            messages.error(self.request, _("本年度已開始受理申請，不能再修改設定。"))
            return None
        return call

    def _render(self, form, call):
        return render(self.request, self.template_name, {"form": form, "rubrics": [], "call": call})

    def get(self, request, pk: int):
        call = self._call(pk)
        if call is None:
            return HttpResponseRedirect(reverse("theses:call", args=[pk]))
        return self._render(CallForm(call=call), call)

    def post(self, request, pk: int):
        call = self._call(pk)
        if call is None:
            return HttpResponseRedirect(reverse("theses:call", args=[pk]))
        form = CallForm(request.POST, call=call)
        if not form.is_valid():
            return self._render(form, call)
        settings = form.settings()
        settings.pop("year")
        saved = run_service(
            request,
            lambda: services.call_update(call_id=pk, actor=request.user, **settings),
            _("已儲存本年度設定。"),
            form=form,
        )
        if saved.invalid:
            return self._render(form, call)
        return HttpResponseRedirect(reverse("theses:call", args=[pk]))


class CallDetailView(LoginRequiredMixin, View):
    """RDEC's page of a call: stage, dates, what each kind and degree offers, the count by state, panel progress,
    the call's buttons and, once decided, the results."""

    template_name = "theses/call.html"

    def get(self, request, pk: int):
        call = _staff_call(request.user, pk)
        tracks = list(call.tracks.select_related("panel"))
        context = {
            "call": call,
            "tracks": [
                {"track": t, "progress": panel_progress(t.panel) if t.panel.status != "forming" else []} for t in tracks
            ],
            "counts": selectors.status_counts(call=call),
            "actions": CALL_ACTIONS.for_object(call, request.user),
            "results": selectors.call_results(call=call) if call.decided_at else [],
            "next_step": guidance.call_next_step(call, can_run=request.user.has_perm("theses.run_call")),
            "can_edit": call.status == ThesisCall.Status.PLANNING and request.user.has_perm("theses.run_call"),
        }
        return render(request, self.template_name, context)


class CallTransitionView(TransitionPostView):
    """POST one of the call's buttons (RDEC staff only: 403 for anyone else)."""

    actions = CALL_ACTIONS
    redirect_url_name = "theses:call"

    def get_object(self, request, pk: int) -> ThesisCall:
        return _staff_call(request.user, pk)


class ThesisAdoptionView(AdoptionAnswerView):
    """An agency answers whether it adopts an awarded thesis (the review engine's answer page, as for proposals)."""

    subject_model = ThesisApplication
    subject_label = gettext_lazy("論文")
    url_name, subject_url_name = "theses:adoption", "theses:detail"
    respond = staticmethod(services.adoption_respond)
