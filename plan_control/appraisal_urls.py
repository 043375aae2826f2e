"""Year-end appraisal pages, included from plan_control.urls (namespace plan_control)."""

from django.urls import path

from . import appraisal_views

urlpatterns = [
    path("summaries/", appraisal_views.AgencySummaryView.as_view(), name="agency-summaries"),
    path("summaries/export/", appraisal_views.AgencySummaryExportView.as_view(), name="agency-summaries-export"),
    path("appraisals/", appraisal_views.AppraisalListView.as_view(), name="appraisals"),
    path("appraisals/<int:pk>/", appraisal_views.AppraisalDetailView.as_view(), name="appraisal"),
    path("appraisal/<int:pk>/", appraisal_views.AppraisalRoundView.as_view(), name="appraisal-round"),
    path(
        "appraisal/<int:pk>/actions/<slug:name>/",
        appraisal_views.AppraisalRoundActionView.as_view(),
        name="appraisal-round-action",
    ),
]
