from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowSiteConfig(AppConfig):
    name = "workflow_site"
    verbose_name = _("系統核心")
