"""The pre-budget review pages, included from plan_control.urls under budget/ (namespace plan_control)."""

from django.urls import path

from . import views

urlpatterns = [
    path("cycles/", views.CycleListView.as_view(), name="budget-cycles"),
    path("cycles/new/", views.CycleFormView.as_view(), name="budget-cycle-new"),
    path("cycles/<int:pk>/", views.CycleDetailView.as_view(), name="budget-cycle"),
    path("cycles/<int:pk>/edit/", views.CycleFormView.as_view(), name="budget-cycle-edit"),
    path("cycles/<int:pk>/actions/<slug:name>/", views.CycleTransitionView.as_view(), name="budget-cycle-action"),
    path("cycles/<int:pk>/board/", views.BoardView.as_view(), name="budget-board"),
    path("cycles/<int:pk>/results/", views.ResultsView.as_view(), name="budget-results"),
    path("cycles/<int:pk>/results/export/", views.ResultsExportView.as_view(), name="budget-results-export"),
    path("cycles/<int:cycle_pk>/meetings/new/", views.MeetingFormView.as_view(), name="budget-meeting-new"),
    path("cycles/<int:cycle_pk>/visits/new/", views.SiteVisitFormView.as_view(), name="budget-visit-new"),
    path("requests/", views.RequestListView.as_view(), name="budget-requests"),
    path("requests/new/", views.RequestCreateView.as_view(), name="budget-request-new"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="budget-request"),
    path("requests/<int:pk>/edit/", views.RequestEditView.as_view(), name="budget-request-edit"),
    path("requests/<int:pk>/recommend/", views.RequestRecommendView.as_view(), name="budget-request-recommend"),
    path("requests/<int:pk>/decide/", views.RequestDecideView.as_view(), name="budget-request-decide"),
    path("requests/<int:pk>/actions/<slug:name>/", views.RequestTransitionView.as_view(), name="budget-request-action"),
    path(
        "requests/<int:pk>/documents/<int:document_id>/",
        views.DocumentDownloadView.as_view(),
        name="budget-request-document",
    ),
    path("meetings/", views.MeetingListView.as_view(), name="budget-meetings"),
    path("meetings/<int:pk>/", views.MeetingDetailView.as_view(), name="budget-meeting"),
    path("meetings/<int:pk>/edit/", views.MeetingFormView.as_view(), name="budget-meeting-edit"),
    path(
        "meetings/<int:pk>/decisions/<int:request_id>/",
        views.MeetingDecisionView.as_view(),
        name="budget-meeting-decision",
    ),
    path("visits/", views.SiteVisitListView.as_view(), name="budget-visits"),
    path("visits/<int:pk>/", views.SiteVisitDetailView.as_view(), name="budget-visit"),
    path("visits/<int:pk>/edit/", views.SiteVisitFormView.as_view(), name="budget-visit-edit"),
    path("visits/<int:pk>/photos/<int:photo_id>/", views.PhotoView.as_view(), name="budget-visit-photo"),
]
