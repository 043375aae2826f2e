from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .forms import OfficialCalendarUploadForm, ROCDateField
from .models import CalendarOverride
from .roc import format_roc_date
from .services import calendar_load_csv


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ["roc_date", "kind", "district_display", "reason", "source", "created_at"]
    list_filter = ["kind", "source"]
    search_fields = ["reason", "district_code"]
    date_hierarchy = "date"
    readonly_fields = ["source", "created_at"]
    fields = ["date", "kind", "district_code", "reason", "source", "created_at"]
    # The admin's date picker writes AD dates; ROCDateField accepts both, so staff can type 114/02/08.
    formfield_overrides = {models.DateField: {"form_class": ROCDateField}}
    change_list_template = "admin/roc_calendar/calendaroverride/change_list.html"

    @admin.display(description=_("日期"), ordering="date")
    def roc_date(self, obj):
        return format_roc_date(obj.date)

    @admin.display(description=_("適用範圍"), ordering="district_code")
    def district_display(self, obj):
        return obj.district_code or gettext("全市")

    def get_urls(self):
        upload = path(
            "upload-official-csv/",
            self.admin_site.admin_view(self.upload_official_csv_view),
            name="roc_calendar_calendaroverride_upload_csv",
        )
        return [upload, *super().get_urls()]

    def upload_official_csv_view(self, request):
        if not self.has_add_permission(request):
            messages.error(request, gettext("您沒有匯入辦公日曆表的權限。"))
            return redirect(reverse("admin:roc_calendar_calendaroverride_changelist"))
        form = OfficialCalendarUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = calendar_load_csv(file=form.cleaned_data["file"], actor=request.user)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("file", message)
            else:
                messages.success(
                    request,
                    gettext(
                        "已匯入辦公日曆表共 %(rows)s 天：新增 %(created)s 筆、更新 %(updated)s 筆、"
                        "刪除 %(deleted)s 筆調整，保留人工調整 %(kept_manual)s 筆。"
                    )
                    % result,
                )
                return redirect(reverse("admin:roc_calendar_calendaroverride_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("匯入政府行政機關辦公日曆表"),
            "form": form,
        }
        return TemplateResponse(request, "admin/roc_calendar/calendaroverride/upload_csv.html", context)
