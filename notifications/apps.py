from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("通知")

    def ready(self) -> None:
        from workflow_site import todo

        from .selectors import todo_items

        todo.register(todo_items)

        from workflow_site import api, notices, ui

        from .services import notice_deliver

        notices.register(notice_deliver)

        api.register("notifications.api")
        ui.register(prefix="notifications/", urls="notifications.urls")
