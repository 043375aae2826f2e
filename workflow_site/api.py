"""API plumbing shared by every app: ApplicationError -> HTTP in one place, and Django's errors alike; the limits every
request meets (page size, JSON depth and size)."""

import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, pagination, parsers, status
from rest_framework.response import Response

from .errors import ApplicationError

logger = logging.getLogger(__name__)

MAX_LIMIT = 500  # rows per page
MAX_OFFSET = 2**31 - 1  # far past any table here, far short of PostgreSQL's bigint OFFSET
MAX_JSON_DEPTH = 32  # the deepest body any endpoint takes is 3 levels
# Free text taken by the API (the models' TextFields stay unbounded): a reason or a comment, and the prose of a
# proposal or a report. Serializers pass these as max_length; a longer text is a 400 naming the field and the limit.
SHORT_TEXT = 2_000
LONG_TEXT = 20_000


def too_large_body(limit: int) -> dict:
    """The 400 body for a request past a size limit, naming it (the middleware and the parsers share it)."""
    return {
        "detail": _("請求內容超過上限 %(size)s。") % {"size": _size(limit)},
        "code": "request_too_large",
        "limit": limit,
    }


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


class BodyTooLarge(exceptions.ParseError):
    default_code = "request_too_large"

    def __init__(self, limit: int):
        super().__init__(too_large_body(limit)["detail"])
        self.limit = limit


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` 1..MAX_LIMIT (PAGE_SIZE when absent) and `?offset=` 0..MAX_OFFSET; anything else is a 400 naming the
    parameter, never a query PostgreSQL refuses (a limit past bigint was a 500)."""

    max_limit = MAX_LIMIT

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        return self.default_limit if raw is None else self._bounded(self.limit_query_param, raw, 1, self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        return 0 if raw is None else self._bounded(self.offset_query_param, raw, 0, MAX_OFFSET)

    @staticmethod
    def _bounded(name: str, raw: str, low: int, high: int) -> int:
        try:
            value = int(raw)
        except ValueError:  # also a number of more than 4,300 digits
            value = None
        if value is None or not low <= value <= high:
            raise exceptions.ValidationError(
                {name: [_("必須是 %(low)d 到 %(high)d 之間的整數。") % {"low": low, "high": high}]}
            )
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, MAX_OFFSET)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"].update(minimum=low, maximum=high)
        return parameters


def _depth(value) -> int:
    """How deeply lists and objects nest in a parsed body, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            stack += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the limits Django applies to forms: at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (DRF reads
    a JSON body unbounded) and MAX_JSON_DEPTH levels (Python's parser raises RecursionError near 1,000)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(body) > limit:
            raise BodyTooLarge(limit)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(body.decode(encoding), parse_constant=self._refuse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON 巢狀層數超過上限 %(n)d 層。") % {"n": MAX_JSON_DEPTH}) from exc
        except ValueError as exc:
            raise exceptions.ParseError(_("JSON 格式錯誤：%(e)s") % {"e": exc}) from exc
        if _depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(_("JSON 巢狀層數超過上限 %(n)d 層。") % {"n": MAX_JSON_DEPTH})
        return data

    @staticmethod
    def _refuse_constant(name: str):
        raise ValueError(_("不接受 %(name)s。") % {"name": name})  # NaN, Infinity: not JSON (RFC 8259)


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
    if isinstance(exc, BodyTooLarge):
        return Response(too_large_body(exc.limit), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Django's form and multipart parsers; unmapped, Django answers with its HTML 400 page.
        return Response(_request_limit_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RecursionError):
        # A parser pinned by a view (not ours above) choked on a deeply nested body: the client's fault, not ours.
        logger.warning("RecursionError answered as 400", exc_info=exc)
        return Response(
            {"detail": _("JSON 巢狀層數超過上限 %(n)d 層。") % {"n": MAX_JSON_DEPTH}, "code": "parse_error"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this module's JSONParser.
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)


def _request_limit_body(exc) -> dict:
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return {"detail": _("欄位數超過上限 %(n)d 個。") % {"n": limit}, "code": "request_too_large", "limit": limit}
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return {"detail": _("檔案數超過上限 %(n)d 個。") % {"n": limit}, "code": "request_too_large", "limit": limit}
    return too_large_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def not_found(request, exception):
    """The site's 404 (`handler404`): under /api/ the API's JSON even where no route matches (an id that is not a
    number, a misspelt path), as a client parsing the answer expects; elsewhere Django's page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"detail": str(exceptions.NotFound.default_detail)}, status=404, json_dumps_params={"ensure_ascii": False}
        )
    return defaults.page_not_found(request, exception)


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
