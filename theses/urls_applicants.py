"""/applicants/: the pages an applicant reaches before signing in (the e-mail verification link)."""

from django.urls import path

from . import views_applicants

app_name = "applicants"

urlpatterns = [path("verify/", views_applicants.verify, name="verify")]
