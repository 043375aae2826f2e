"""The reviewer's page: every assigned item of a panel on one page (built out by the UI work)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import TemplateView

from . import selectors


class ScorePageView(LoginRequiredMixin, TemplateView):
    template_name = "reviews/score_page.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sheets = list(selectors.sheets_for_reviewer(user=self.request.user, panel_id=kwargs["panel_id"]))
        if not sheets:
            raise Http404
        context["sheets"] = sheets
        context["panel"] = sheets[0].panel
        return context
