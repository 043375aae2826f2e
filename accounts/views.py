"""The agency directory (機關名錄) in the back office: every signed-in user may read it."""

from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application, ReadonlyModelViewset

from .models import Agency


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
