from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.MyPanelsView.as_view(), name="my-panels"),
    path("panels/<int:panel_id>/score/", views.ScorePageView.as_view(), name="score"),
]
