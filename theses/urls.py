from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application

from . import views

app_name = "theses"


class ThesesApplication(Application):
    """學位論文獎補助 in the back-office menu; the pages are this URLconf's, mounted at /theses/."""

    title = _("學位論文獎補助")
    icon = "school"
    app_name = "thesis_awards"
    index_path = path("", RedirectView.as_view(pattern_name="theses:list"), name="index")


urlpatterns = [
    path("", views.ApplicationListView.as_view(), name="list"),
    path("new/", views.ApplicationCreateView.as_view(), name="create"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("<int:pk>/", views.ApplicationDetailView.as_view(), name="detail"),
    path("<int:pk>/transitions/<slug:name>/", views.ApplicationTransitionView.as_view(), name="transition"),
    path("<int:pk>/documents/", views.DocumentUploadView.as_view(), name="document-add"),
    path("<int:pk>/documents/<int:document_id>/", views.DocumentDownloadView.as_view(), name="document"),
    path("<int:pk>/final/", views.FinalUploadView.as_view(), name="final"),
    path("adoptions/<int:pk>/", views.ThesisAdoptionView.as_view(), name="adoption"),
    path("calls/new/", views.CallCreateView.as_view(), name="call-create"),
    path("calls/<int:pk>/", views.CallDetailView.as_view(), name="call"),
    path("calls/<int:pk>/edit/", views.CallEditView.as_view(), name="call-edit"),
    path("calls/<int:pk>/transitions/<slug:name>/", views.CallTransitionView.as_view(), name="call-transition"),
]
