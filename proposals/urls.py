from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application

from . import views

app_name = "proposals"


class ProposalsApplication(Application):
    """市政創新提案 in the back-office menu; the pages are this URLconf's, mounted at /proposals/."""

    title = _("市政創新提案")
    icon = "lightbulb"
    app_name = "innovation"
    index_path = path("", RedirectView.as_view(pattern_name="proposals:list"), name="index")


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
    path("rounds/", views.RoundListView.as_view(), name="rounds"),
    path("rounds/new/", views.RoundCreateView.as_view(), name="round-create"),
    path("rounds/<int:pk>/", views.RoundDetailView.as_view(), name="round"),
    path("rounds/<int:pk>/edit/", views.RoundEditView.as_view(), name="round-edit"),
    path("rounds/<int:pk>/transitions/<slug:name>/", views.RoundTransitionView.as_view(), name="round-transition"),
    path("adoptions/", views.AdoptionListView.as_view(), name="adoptions"),
    path("adoptions/<int:pk>/", views.AdoptionDetailView.as_view(), name="adoption"),
]
