from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("panels/<int:panel_id>/score/", views.ScorePageView.as_view(), name="score"),
]
