from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class ServiceOutcome:
    """What `run_service` saw: the service's return value, or the refusal it raised. True when it succeeded."""

    result: Any = None
    error: Exception | None = None  # an ApplicationError or a Django ValidationError

    def __bool__(self) -> bool:
        return self.error is None

    @property
    def invalid(self) -> bool:
        """The service refused the input: its messages are on the form's fields, so show the form again."""
        return isinstance(self.error, ValidationError)

    @property
    def status(self) -> int:
        """The HTTP status the API gives this refusal (400 for a validation error), 200 on success."""
        if self.error is None:
            return 200
        return getattr(self.error, "status", 400)


def run_service(request, action, done: str = "", *, form: forms.Form | None = None) -> ServiceOutcome:
    """Call a service for a back-office POST; success and refusals become messages, never a 500.

    Not visible (NotFound) is a 404 and not allowed a 403, as in the API. A validation error lands on `form`'s
    fields when a form is given (else it becomes messages); any other refusal becomes a message. `done` is the
    success message (none when empty).
    """
    try:
        result = action()
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except AppPermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return ServiceOutcome(error=exc)
    except ValidationError as exc:
        if form is not None:
            add_service_errors(form, exc)
        else:
            for message in exc.messages:
                messages.error(request, message)
        return ServiceOutcome(error=exc)
    if done:
        messages.success(request, done)
    return ServiceOutcome(result=result)
