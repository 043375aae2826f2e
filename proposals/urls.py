from django.urls import path

from . import views

app_name = "proposals"

urlpatterns = [
    path("", views.ProposalListView.as_view(), name="list"),
    path("new/", views.ProposalCreateView.as_view(), name="create"),
    path("<int:pk>/", views.ProposalDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ProposalEditView.as_view(), name="edit"),
    path("<int:pk>/transitions/<slug:name>/", views.ProposalTransitionView.as_view(), name="transition"),
    path("<int:pk>/attachments/", views.AttachmentUploadView.as_view(), name="attachment-add"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
    path("rounds/<int:pk>/", views.RoundDetailView.as_view(), name="round"),
    path("rounds/<int:pk>/transitions/<slug:name>/", views.RoundTransitionView.as_view(), name="round-transition"),
    path("adoptions/", views.AdoptionListView.as_view(), name="adoptions"),
    path("adoptions/<int:pk>/", views.AdoptionDetailView.as_view(), name="adoption"),
]
