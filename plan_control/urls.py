from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application

from . import views

app_name = "plan_control"


class PlanControlApplication(Application):
    """列管計畫 in the back-office menu; the pages are this URLconf's, mounted at /plan-control/."""

    title = _("列管計畫")
    icon = "insights"
    app_name = "control"
    index_path = path("", RedirectView.as_view(pattern_name="plan_control:board"), name="index")


urlpatterns = [
    path("board/", views.BoardView.as_view(), name="board"),
    path("board/export/", views.BoardExportView.as_view(), name="board-export"),
    path("board/print/", views.BoardPrintView.as_view(), name="board-print"),
    path("reports/", views.ReportListView.as_view(), name="reports"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report"),
    path("reports/<int:pk>/transitions/<slug:name>/", views.ReportTransitionView.as_view(), name="report-transition"),
    path("", include("plan_control.appraisal_urls")),
]
