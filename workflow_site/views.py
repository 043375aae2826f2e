from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from accounts.selectors import acting_principals, delegations_received

from . import todo


class HomeView(LoginRequiredMixin, TemplateView):
    """我的待辦: the signed-in user's waiting work, and whom they currently stand in for."""

    template_name = "workflow_site/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["todo_items"] = todo.items_for(user)
        context["acting_for"] = acting_principals(user)
        context["delegations"] = delegations_received(user)
        return context
