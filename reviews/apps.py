from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("審查評分")

    def ready(self) -> None:
        from notifications import registry

        from .deadlines import ADOPTION_SOURCE, SOURCE

        registry.register(SOURCE)
        registry.register(ADOPTION_SOURCE)

        from accounts import delegation_checks

        from .selectors import delegation_refusals

        delegation_checks.register(delegation_refusals)

        from workflow_site import api, ui

        api.register("reviews.api")
        ui.register(menu="reviews.urls.ReviewsApplication", prefix="reviews/", urls="reviews.urls", order=60)
