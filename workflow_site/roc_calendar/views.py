"""行事曆調整 in the back office: RDEC staff list a year's corrections, add, correct and remove one, and load the
official office calendar (行政院人事行政總處辦公日曆表), without the admin."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import NON_FIELD_ERRORS, BadRequest
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from workflow_site.views import run_service

from . import selectors, services
from .calendar import today
from .forms import CalendarOverrideCorrectForm, CalendarOverrideForm, CalendarYearForm, OfficialCalendarUploadForm
from .models import CalendarOverride
from .roc import ad_year, format_roc_date, roc_year

WEEKDAYS = "一二三四五六日"


def _list_url(day) -> str:
    return f"{reverse('roc_calendar:list')}?year={roc_year(day.year)}"


class CalendarPermissionMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed-out visitors go to sign in; signed-in users without the calendar permission get a 403."""

    permission_required = "roc_calendar.view_calendaroverride"


class OverrideListView(CalendarPermissionMixin, TemplateView):
    template_name = "roc_calendar/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        this_year = roc_year(today().year)
        if "year" in self.request.GET:
            form = CalendarYearForm(self.request.GET)
            if not form.is_valid():
                raise BadRequest(_("年度必須是民國年的數字，例如 114。"))
            year = form.cleaned_data["year"]
        else:
            year = this_year
        overrides = list(selectors.overrides_for_year(year=ad_year(year)))
        for override in overrides:
            override.weekday = WEEKDAYS[override.date.weekday()]
        years = sorted({roc_year(y) for y in selectors.override_years()} | {this_year, this_year + 1, year})
        user = self.request.user
        context.update(
            year=year,
            years=sorted(years, reverse=True),
            overrides=overrides,
            can_add=user.has_perm("roc_calendar.add_calendaroverride"),
            can_change=user.has_perm("roc_calendar.change_calendaroverride"),
            can_delete=user.has_perm("roc_calendar.delete_calendaroverride"),
        )
        return context


class OverrideCreateView(CalendarPermissionMixin, FormView):
    permission_required = "roc_calendar.add_calendaroverride"
    template_name = "roc_calendar/form.html"
    form_class = CalendarOverrideForm

    def form_valid(self, form):
        data = form.cleaned_data
        outcome = run_service(
            self.request,
            lambda: services.calendar_override_create(
                date=data["date"],
                kind=data["kind"],
                district_code=data["district_code"],
                reason=data["reason"],
                actor=self.request.user,
            ),
            _("已新增 %(date)s 的行事曆調整。") % {"date": format_roc_date(data["date"])},
            form=form,
        )
        if not outcome:
            return self.form_invalid(form)
        return HttpResponseRedirect(_list_url(outcome.result.date))

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=_("新增行事曆調整"), **kwargs)


class OverrideMixin:
    """The override named in the URL, loaded once the permission mixin has let the user in."""

    def dispatch(self, request, *args, **kwargs):
        self.override = get_object_or_404(CalendarOverride, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(override=self.override, back_url=_list_url(self.override.date), **kwargs)


class OverrideCorrectView(CalendarPermissionMixin, OverrideMixin, FormView):
    permission_required = "roc_calendar.change_calendaroverride"
    template_name = "roc_calendar/form.html"
    form_class = CalendarOverrideCorrectForm

    def get_initial(self):
        return {"kind": self.override.kind, "reason": self.override.reason}

    def form_valid(self, form):
        outcome = run_service(
            self.request,
            lambda: services.calendar_override_update(
                override_id=self.override.pk,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
                actor=self.request.user,
            ),
            _("已更正 %(date)s 的行事曆調整。") % {"date": format_roc_date(self.override.date)},
            form=form,
        )
        if not outcome:
            return self.form_invalid(form)
        return HttpResponseRedirect(_list_url(self.override.date))

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=_("更正行事曆調整"), **kwargs)


class OverrideDeleteView(CalendarPermissionMixin, OverrideMixin, TemplateView):
    """GET asks (removing cannot be undone); POST removes."""

    permission_required = "roc_calendar.delete_calendaroverride"
    template_name = "roc_calendar/delete.html"

    def post(self, request, pk: int):
        run_service(
            request,
            lambda: services.calendar_override_delete(override_id=self.override.pk, actor=request.user),
            _("已刪除 %(date)s 的行事曆調整，該日回復依全國行事曆。") % {"date": format_roc_date(self.override.date)},
        )
        return HttpResponseRedirect(_list_url(self.override.date))


class OfficialCalendarUploadView(CalendarPermissionMixin, FormView):
    permission_required = "roc_calendar.add_calendaroverride"
    template_name = "roc_calendar/upload.html"
    form_class = OfficialCalendarUploadForm

    def form_valid(self, form):
        outcome = run_service(
            self.request,
            lambda: services.calendar_load_csv(file=form.cleaned_data["file"], actor=self.request.user),
            form=form,
        )
        if not outcome:
            # The row errors (第 3 列：…) belong to the file: show them under it rather than above the form.
            for message in form.errors.pop(NON_FIELD_ERRORS, []):
                form.add_error("file", message)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "已匯入辦公日曆表共 %(rows)s 天：新增 %(created)s 筆、更新 %(updated)s 筆、"
                "刪除 %(deleted)s 筆調整，保留人工調整 %(kept_manual)s 筆。"
            )
            % outcome.result,
        )
        return HttpResponseRedirect(reverse("roc_calendar:list"))
