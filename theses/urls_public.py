"""/results/theses/: the public list of awarded theses (no sign-in)."""

from django.urls import path

from . import views_public

app_name = "public_theses"

urlpatterns = [path("", views_public.awarded, name="list")]
