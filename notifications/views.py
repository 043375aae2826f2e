"""我的通知: the signed-in user's in-app notifications, marking them read, and the daily-digest choice."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from workflow_site.errors import NotFound

from . import selectors, services


class PreferenceForm(forms.Form):
    daily_digest = forms.BooleanField(label=gettext_lazy("以每日摘要寄送提醒"), required=False)


def _back(request) -> HttpResponseRedirect:
    """Back to the page (and page number) the button was on; never off-site."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notifications:inbox")
    return HttpResponseRedirect(target)


class InboxView(LoginRequiredMixin, ListView):
    template_name = "notifications/inbox.html"
    context_object_name = "notifications"
    paginate_by = 50

    def get_queryset(self):
        return selectors.inbox(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        daily_digest = selectors.daily_digest(user=self.request.user)
        context["preference_form"] = PreferenceForm(initial={"daily_digest": daily_digest})
        return context


class MarkReadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        try:
            services.notification_mark_read(notification_id=pk, user=request.user)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        messages.success(request, _("已標示為已讀。"))
        return _back(request)


class MarkAllReadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        marked = services.notifications_mark_all_read(user=request.user)
        messages.success(request, _("已將 %(n)d 則通知標示為已讀。") % {"n": marked})
        return _back(request)


class PreferenceView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        form = PreferenceForm(request.POST)
        form.is_valid()  # a single optional checkbox: always valid
        services.notification_preference_set(user=request.user, daily_digest=form.cleaned_data["daily_digest"])
        messages.success(request, _("已儲存通知設定。"))
        return _back(request)
