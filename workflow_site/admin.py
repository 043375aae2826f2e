from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from .models import TransitionLog, WorkerHeartbeat

# The admin names the product, not "Django" (its header, its pages' <title> and its front page).
admin.site.site_header = _("研考會工作流程系統 管理")
admin.site.site_title = _("研考會工作流程系統 管理")
admin.site.index_title = _("系統管理")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never touch: rows that services write (states, scores, logs, counts) are never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    """Read-only: the log is evidence and is never edited."""

    list_display = ("created_at", "content_type", "object_id", "transition", "source", "target", "actor", "acting_for")
    list_filter = ("content_type", "transition")
    search_fields = ("actor__username", "actor__display_name", "acting_for__username", "reason")
    list_select_related = ("content_type", "actor", "acting_for")
    date_hierarchy = "created_at"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "last_seen")

    def has_add_permission(self, request) -> bool:
        return False


# django-celery-beat's admin: three labels it leaves untranslatable (a plain-string verbose_name, a method and a
# property without descriptions), given here in zh-Hant.
class _TaskNameFilter(admin.AllValuesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("任務名稱")


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    list_display = ("name", "enabled", "schedule", "interval", "start_time", "last_run_at", "one_off")
    list_filter = ["enabled", "one_off", ("task", _TaskNameFilter), "start_time", "last_run_at"]

    @admin.display(description=_("排程"))
    def schedule(self, obj):
        return obj.scheduler


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    list_display = ("__str__", "description")
    fields = ("description", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("description",)

    @admin.display(description=_("說明"))
    def description(self, obj):
        return obj.human_readable


for _model, _model_admin in ((PeriodicTask, PeriodicTaskAdmin), (CrontabSchedule, CrontabScheduleAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
