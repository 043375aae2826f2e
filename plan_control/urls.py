"""The plan-control pages under one URL namespace, `plan_control`: each process package brings its own
urlpatterns (monitoring: the board and the monthly reports; appraisal: the year-end appraisal and the summaries;
budget: the pre-budget review, under budget/)."""

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application

from .appraisal.views import AppraisalHomeView

app_name = "plan_control"


class PlanControlApplication(Application):
    """列管計畫 in the back-office menu; the pages are this URLconf's, mounted at /plan-control/, and each shows the
    tabs to the others (`templatetags/plan_control_tabs.py`): board, reports, appraisal, summaries, import."""

    title = _("列管計畫")
    icon = "insights"
    app_name = "control"
    index_path = path("", RedirectView.as_view(pattern_name="plan_control:board"), name="index")


class AppraisalApplication(Application):
    """年終考核 in the back-office menu: RDEC staff land on the rounds, an agency on its plans' appraisals."""

    title = _("年終考核")
    icon = "grading"
    app_name = "appraisal"
    index_path = path("", AppraisalHomeView.as_view(), name="index")


class BudgetApplication(Application):
    """年度計畫先期作業 in the back-office menu; the pages are this URLconf's, under /plan-control/budget/."""

    title = _("先期作業")
    icon = "savings"
    app_name = "budget"
    index_path = path("", RedirectView.as_view(pattern_name="plan_control:budget-cycles"), name="index")


urlpatterns = [
    path("", include("plan_control.monitoring.urls")),
    path("", include("plan_control.appraisal.urls")),
    path("budget/", include("plan_control.budget.urls")),
]
