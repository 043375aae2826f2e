"""Request size limits for the API, answered in the API's JSON before anything reads the body."""

from django.conf import settings
from django.http import JsonResponse

from .api import too_large_body


class ApiRequestSizeMiddleware:
    """A request to /api/ declaring more than its limit gets a JSON 400 naming the limit, not Django's HTML page:
    UPLOAD_MAX_REQUEST_SIZE for multipart uploads, DATA_UPLOAD_MAX_MEMORY_SIZE for any other body (JSON, forms)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.content_type == "multipart/form-data"
            limit = settings.UPLOAD_MAX_REQUEST_SIZE if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                return JsonResponse(too_large_body(limit), status=400)
        return self.get_response(request)
