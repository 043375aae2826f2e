from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanControlConfig(AppConfig):
    name = "plan_control"
    verbose_name = _("計畫管制與考核")
