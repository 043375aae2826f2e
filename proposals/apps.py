from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("市政創新提案")

    def ready(self) -> None:
        from notifications import registry

        from .deadlines import SOURCES

        for source in SOURCES:
            registry.register(source)

        from reviews.deadlines import register_answer_page

        register_answer_page("proposals.proposal", lambda adoption_id: f"/proposals/adoptions/{adoption_id}/")

        from workflow_site import api, demo, ui

        from .demo import seed

        demo.register("proposals", seed)
        api.register("proposals.api")
        ui.register(menu="proposals.urls.ProposalsApplication", prefix="proposals/", urls="proposals.urls", order=10)
        ui.register_public(prefix="results/", urls="proposals.urls_public", title=_("市政創新提案得獎名單"))
