from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.http import Http404
from django.views.generic import TemplateView

from . import todo
from .delegation import acting_principals, delegations_received
from .errors import ApplicationError, NotFound
from .errors import PermissionDenied as AppPermissionDenied


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


def add_service_errors(form: forms.Form, error) -> None:
    """Put a service's ValidationError on the form: under its field when the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def run_service(request, action, done: str) -> bool:
    """Call a service for a back-office POST; success and refusals become messages.

    Not visible (NotFound) is a 404 and not allowed a 403, as in the API; any other refusal or validation
    error is shown to the person, never a 500.
    """
    try:
        action()
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except AppPermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return False
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    messages.success(request, done)
    return True
