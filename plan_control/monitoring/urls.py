"""The monthly board and the monthly reports, included from plan_control.urls (namespace plan_control)."""

from django.urls import path

from . import views

urlpatterns = [
    path("board/", views.BoardView.as_view(), name="board"),
    path("board/export/", views.BoardExportView.as_view(), name="board-export"),
    path("board/print/", views.BoardPrintView.as_view(), name="board-print"),
    path("plans/", views.PlanListView.as_view(), name="plans"),
    path("plans/start/", views.PlansStartView.as_view(), name="plans-start"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan"),
    path("plans/<int:pk>/actions/<slug:name>/", views.PlanTransitionView.as_view(), name="plan-action"),
    path("plans/import/", views.PlansImportView.as_view(), name="plans-import"),
    path("plans/import/template/", views.PlansImportTemplateView.as_view(), name="plans-import-template"),
    path("reports/", views.ReportListView.as_view(), name="reports"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report"),
    path("reports/<int:pk>/transitions/<slug:name>/", views.ReportTransitionView.as_view(), name="report-transition"),
]
