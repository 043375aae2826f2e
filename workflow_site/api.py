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


_api_modules: list[str] = []


def register(module: str) -> None:
    """An app's API module (dotted path), mounted under /api/v1/ when the URLconf loads. It declares
    `ROUTES = [(prefix, viewset, basename), ...]` for the router and, if it has plain views, `PATHS = [path(...)]`."""
    if module not in _api_modules:
        _api_modules.append(module)


def api_urlpatterns() -> list:
    from importlib import import_module

    from rest_framework.routers import DefaultRouter

    router = DefaultRouter()
    paths = []
    for module in map(import_module, _api_modules):
        for prefix, viewset, basename in getattr(module, "ROUTES", ()):
            router.register(prefix, viewset, basename=basename)
        paths += getattr(module, "PATHS", ())
    return [*paths, *router.urls]
