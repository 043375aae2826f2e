from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanControlConfig(AppConfig):
    name = "plan_control"
    verbose_name = _("計畫管制與考核")

    def ready(self) -> None:
        from notifications import registry

        from .deadlines import SOURCES

        for source in SOURCES:
            registry.register(source)

        from workflow_site import api, demo, ui

        from .demo import seed

        demo.register("plan_control", seed)
        api.register("plan_control.api")
        api.register("plan_control.appraisal_api")
        ui.register(menu="plan_control.urls.PlanControlApplication", prefix="plan-control/", urls="plan_control.urls")
