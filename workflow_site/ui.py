"""The back office: one viewflow Site, one Application per process as the processes are built."""

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application, ReadonlyModelViewset, Site

from accounts.models import Agency

from .views import HomeView


class AgencyViewset(ReadonlyModelViewset):
    model = Agency
    title = _("機關名錄")
    icon = "account_balance"
    list_columns = ("code", "name", "kind", "parent")
    list_filter_fields = ("kind", "active")
    queryset = Agency.objects.select_related("parent")


class DirectoryApplication(Application):
    title = _("機關名錄")
    icon = "account_balance"
    app_name = "directory"
    viewsets = [AgencyViewset()]


class ProposalsApplication(Application):
    """市政創新提案: the menu entry; the pages themselves are the custom views under /proposals/."""

    title = _("市政創新提案")
    icon = "lightbulb"
    app_name = "innovation"
    index_path = path("", RedirectView.as_view(pattern_name="proposals:list"), name="index")


class PlanControlApplication(Application):
    """列管計畫: the menu entry; the pages themselves are the custom views under /plan-control/."""

    title = _("列管計畫")
    icon = "insights"
    app_name = "control"
    index_path = path("", RedirectView.as_view(pattern_name="plan_control:board"), name="index")


class RdecSite(Site):
    title = _("研考會工作流程系統")
    primary_color = "#1b4f72"
    secondary_color = "#117a65"
    index_path = path("", HomeView.as_view(), name="index")


site = RdecSite(
    viewsets=[DirectoryApplication(), ProposalsApplication(), PlanControlApplication()],
    # The processes' own pages (grids, score sheets, boards) live inside the site, so they get its menu.
    urlpatterns=[
        path("notifications/", include("notifications.urls")),
        path("reviews/", include("reviews.urls")),
        path("proposals/", include("proposals.urls")),
        path("plan-control/", include("plan_control.urls")),
    ],
)
