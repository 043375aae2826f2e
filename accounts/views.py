"""The agency directory (機關名錄) in the back office: every signed-in user may read it.

Plain Django pages in the site's look rather than viewflow's model viewset: that one printed its own `parent` (the
menu entry) in a column named after it, "True"/"False" and an English pager.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Q
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, ListView, RedirectView
from viewflow.urls import Application

from .models import Agency
from .selectors import agency_list


class AgencyFilterForm(forms.Form):
    q = forms.CharField(label=_("搜尋機關名稱或代碼"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("機關類型"), required=False, choices=[("", _("全部類型")), *Agency.Kind.choices])
    active = forms.ChoiceField(
        label=_("使用中"), required=False, choices=[("", _("全部")), ("yes", _("是")), ("no", _("否"))]
    )

    def filter(self, qs):
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if term := data["q"].strip():
            qs = qs.filter(Q(name__icontains=term) | Q(code__icontains=term) | Q(name_en__icontains=term))
        if data["kind"]:
            qs = qs.filter(kind=data["kind"])
        if data["active"]:
            qs = qs.filter(active=data["active"] == "yes")
        return qs


class AgencyListView(PermissionRequiredMixin, ListView):
    """Every agency, searched and filtered; three queries a page whatever its length (count, page, session user)."""

    permission_required = "accounts.view_agency"
    template_name = "accounts/directory_list.html"
    context_object_name = "agencies"
    paginate_by = 25

    def get_queryset(self):
        self.filter_form = AgencyFilterForm(self.request.GET or None)
        return self.filter_form.filter(agency_list())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter_form=self.filter_form, query=query.urlencode(), filtered=bool(query))
        return context


class AgencyDetailView(PermissionRequiredMixin, DetailView):
    """One agency, its parent and the agencies under it."""

    permission_required = "accounts.view_agency"
    template_name = "accounts/directory_detail.html"
    context_object_name = "agency"

    def get_queryset(self):
        return agency_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["children"] = list(self.object.children.order_by("code"))
        return context


class DirectoryApplication(Application):
    title = _("機關名錄")
    icon = "account_balance"
    app_name = "directory"
    menu_template_name = None  # no viewsets: the site menu is the only menu
    index_path = path("", AgencyListView.as_view(), name="index")
    urlpatterns = [
        path("<int:pk>/", AgencyDetailView.as_view(), name="detail"),
        # Where viewflow's viewset had the list: bookmarks keep working.
        path("agency/", RedirectView.as_view(pattern_name="directory:index", query_string=True)),
    ]
