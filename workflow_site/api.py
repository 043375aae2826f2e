"""API plumbing shared by every app: ApplicationError -> HTTP in one place, and Django's errors alike."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def _validation_detail(exc: DjangoValidationError) -> dict | list:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    """400 `{field: [messages]}`, 403, 404 and 409 `{"detail", "code"}`: the shapes the API promises."""
    if isinstance(exc, ApplicationError):
        if exc.status == status.HTTP_400_BAD_REQUEST and exc.extra.get("fields"):
            return Response(exc.extra["fields"], status=exc.status)
        body = {"detail": str(exc.message), "code": exc.code}
        body.update({k: v for k, v in exc.extra.items() if k != "fields"})
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_detail(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
