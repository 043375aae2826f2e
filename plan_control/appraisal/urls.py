"""Year-end appraisal pages, included from plan_control.urls (namespace plan_control)."""

from django.urls import path

from . import views

urlpatterns = [
    path("summaries/", views.AgencySummaryView.as_view(), name="agency-summaries"),
    path("summaries/export/", views.AgencySummaryExportView.as_view(), name="agency-summaries-export"),
    path("appraisals/", views.AppraisalListView.as_view(), name="appraisals"),
    path("appraisals/<int:pk>/", views.AppraisalDetailView.as_view(), name="appraisal"),
    path("appraisal/", views.AppraisalRoundListView.as_view(), name="appraisal-rounds"),
    path("appraisal/new/", views.AppraisalRoundCreateView.as_view(), name="appraisal-round-new"),
    path("appraisal/<int:pk>/", views.AppraisalRoundView.as_view(), name="appraisal-round"),
    path(
        "appraisal/<int:pk>/actions/<slug:name>/",
        views.AppraisalRoundActionView.as_view(),
        name="appraisal-round-action",
    ),
]
