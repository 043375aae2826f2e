from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter
from viewflow.contrib.auth import AuthViewset

from accounts import api as accounts_api
from notifications import api as notifications_api
from plan_control import api as plan_control_api
from plan_control import appraisal_api
from proposals import api as proposals_api
from reviews import api as reviews_api

from .ui import site

router = DefaultRouter()
router.register("agencies", accounts_api.AgencyViewSet, basename="agency")
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("delegations", accounts_api.DelegationViewSet, basename="delegation")
router.register("proposal-rounds", proposals_api.ProposalRoundViewSet, basename="proposal-round")
router.register("proposals", proposals_api.ProposalViewSet, basename="proposal")
router.register("adoptions", proposals_api.AdoptionViewSet, basename="adoption")
router.register("notifications", notifications_api.NotificationViewSet, basename="notification")
router.register("score-sheets", reviews_api.ScoreSheetViewSet, basename="score-sheet")
router.register("panels", reviews_api.PanelViewSet, basename="panel")
router.register("plans", plan_control_api.PlanViewSet, basename="plan")
router.register("progress-reports", plan_control_api.ProgressReportViewSet, basename="progress-report")
router.register("appraisal-rounds", appraisal_api.AppraisalRoundViewSet, basename="appraisal-round")
router.register("appraisals", appraisal_api.AppraisalViewSet, basename="appraisal")

api_v1 = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("me/", accounts_api.me, name="api-me"),
    path("monthly-analysis/", plan_control_api.monthly_analysis, name="api-monthly-analysis"),
    path("agency-summaries/", appraisal_api.agency_summaries, name="api-agency-summaries"),
    *router.urls,
]

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", AuthViewset(with_profile_view=False).urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("results/", include("proposals.urls_public")),
    path("", site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
