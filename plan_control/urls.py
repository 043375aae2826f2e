from django.urls import include, path

from . import views

app_name = "plan_control"

urlpatterns = [
    path("board/", views.BoardView.as_view(), name="board"),
    path("board/export/", views.BoardExportView.as_view(), name="board-export"),
    path("board/print/", views.BoardPrintView.as_view(), name="board-print"),
    path("reports/", views.ReportListView.as_view(), name="reports"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report"),
    path("reports/<int:pk>/transitions/<slug:name>/", views.ReportTransitionView.as_view(), name="report-transition"),
    path("", include("plan_control.appraisal_urls")),
]
