"""/results/: the public results pages (no sign-in)."""

from django.urls import path

from . import views_public

app_name = "public_results"

urlpatterns = [
    path("", views_public.results, name="list"),
    path("<int:proposal_id>/", views_public.result_detail, name="detail"),
    path("<int:proposal_id>/report/", views_public.award_report, name="report"),
]
