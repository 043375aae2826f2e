from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from accounts.roles import Role, is_rdec_staff, user_roles

from . import views

app_name = "reviews"


class ReviewsApplication(Application):
    """評分 in the back-office menu: reviewers reach the panels they sit on, RDEC staff the panels they run.

    Shown only to them: nobody else has a panel to score or set up. The pages are this URLconf's, at /reviews/."""

    title = _("評分")
    icon = "rate_review"
    app_name = "scoring"
    index_path = path("", views.ScoringIndexView.as_view(), name="index")

    def has_view_permission(self, user, obj=None) -> bool:
        return Role.REVIEWER in user_roles(user) or is_rdec_staff(user)


urlpatterns = [
    path("", views.MyPanelsView.as_view(), name="my-panels"),
    path("panels/<int:panel_id>/score/", views.ScorePageView.as_view(), name="score"),
    # RDEC's set-up pages; processes link to a panel's page as `reviews:panel` with the panel's pk.
    path("panels/", views.PanelListView.as_view(), name="panels"),
    path("panels/<int:pk>/", views.PanelSetupView.as_view(), name="panel"),
    path(
        "panels/<int:pk>/members/<int:member_id>/<slug:action>/",
        views.PanelMemberActionView.as_view(),
        name="panel-member",
    ),
]
