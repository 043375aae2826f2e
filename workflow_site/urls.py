"""The site's URLs. Each app mounts its own pages and API routes from its AppConfig.ready() (`ui.register`,
`ui.register_public`, `api.register`): nothing here names an app."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from viewflow.contrib.auth import AuthViewset

from . import api, ui

site = ui.build_site()

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", AuthViewset(with_profile_view=False).urls),
    path("api/v1/", include((api.api_urlpatterns(), "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    *ui.public_urlpatterns(),
    path("", site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
