"""/applicants/: the pages an applicant reaches before signing in: registering and the e-mail verification link."""

from django.urls import path

from . import views_applicants

app_name = "applicants"

urlpatterns = [
    path("", views_applicants.register, name="register"),
    path("verify/", views_applicants.verify, name="verify"),
]
