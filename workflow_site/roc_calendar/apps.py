from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RocCalendarConfig(AppConfig):
    name = "workflow_site.roc_calendar"
    label = "roc_calendar"
    verbose_name = _("行事曆")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflow_site import ui

        ui.register(
            menu="workflow_site.roc_calendar.urls.CalendarApplication",
            prefix="calendar/",
            urls="workflow_site.roc_calendar.urls",
            order=90,
        )
