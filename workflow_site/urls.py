"""The site's URLs. Each app mounts its own pages and API routes from its AppConfig.ready() (`ui.register`,
`ui.register_public`, `api.register`): nothing here names an app."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission

from . import api, ui
from .auth_pages import SiteAuthViewset

site = ui.build_site()


class DocsAccess(BasePermission):
    """The schema and its pages: anyone when settings.API_DOCS_PUBLIC, else signed-in users (production)."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


docs = {"permission_classes": [DocsAccess]}


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page's <link rel="icon"> says (JSON answers, the API's pages)."""
    return HttpResponseRedirect(static("favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", SiteAuthViewset(with_profile_view=False).urls),
    path("api/v1/", include((api.api_urlpatterns(), "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(**docs), name="api-schema"),
    # Split: Swagger UI's start-up script is its own request, so the page needs no inline script (workflow_site.csp).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", **docs), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", **docs), name="api-redoc"),
    *ui.public_urlpatterns(),
    path("", site.urls),
]

# An unrouted /api/ URL answers the API's JSON 404, not an HTML page.
handler404 = "workflow_site.api.not_found"

# No static() route for MEDIA_URL, not even with DEBUG: uploaded files go out only through the views that check
# who may read them.
