from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanControlConfig(AppConfig):
    """One app label and one set of migrations; each process is a package of its own (monitoring, appraisal)."""

    name = "plan_control"
    verbose_name = _("計畫管制與考核")

    def ready(self) -> None:
        from notifications import registry
        from workflow_site import api, demo, ui

        from .appraisal import deadlines as appraisal_deadlines
        from .budget import deadlines as budget_deadlines
        from .budget.demo import seed as budget_seed
        from .monitoring import deadlines as monitoring_deadlines
        from .monitoring.demo import seed

        for source in [*monitoring_deadlines.SOURCES, *appraisal_deadlines.SOURCES, *budget_deadlines.SOURCES]:
            registry.register(source)
        demo.register("plan_control", seed)
        demo.register("plan_control.budget", budget_seed)  # after the controlled plans: its own go to fiscal 108
        api.register("plan_control.monitoring.api")
        api.register("plan_control.appraisal.api")
        api.register("plan_control.budget.api")
        ui.register(
            menu="plan_control.urls.PlanControlApplication", prefix="plan-control/", urls="plan_control.urls", order=30
        )
        ui.register(menu="plan_control.urls.AppraisalApplication", order=40)
        ui.register(menu="plan_control.urls.BudgetApplication", order=50)
        # Celery's autodiscovery imports `plan_control.tasks` only; the processes keep their tasks in their packages.
        from .appraisal import tasks as _appraisal_tasks  # noqa: F401
        from .monitoring import tasks as _monitoring_tasks  # noqa: F401
