from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application

from . import views

app_name = "roc_calendar"


class CalendarApplication(Application):
    """行事曆調整 in the back-office menu, only for those who keep the calendar; the pages are at /calendar/."""

    title = _("行事曆調整")
    icon = "event"
    app_name = "workdays"
    index_path = path("", RedirectView.as_view(pattern_name="roc_calendar:list"), name="index")

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("roc_calendar.view_calendaroverride")


urlpatterns = [
    path("", views.OverrideListView.as_view(), name="list"),
    path("new/", views.OverrideCreateView.as_view(), name="create"),
    path("<int:pk>/correct/", views.OverrideCorrectView.as_view(), name="correct"),
    path("<int:pk>/delete/", views.OverrideDeleteView.as_view(), name="delete"),
    path("upload/", views.OfficialCalendarUploadView.as_view(), name="upload"),
]
