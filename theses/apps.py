from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThesesConfig(AppConfig):
    name = "theses"
    verbose_name = _("學位論文獎補助")

    def ready(self) -> None:
        from notifications import registry
        from workflow_site import api, demo, ui

        from .deadlines import SOURCES
        from .demo import seed

        for source in SOURCES:
            registry.register(source)  # reminders, escalations and My tasks; the review deadline is reviews.scoring
        demo.register("theses", seed)

        from reviews.deadlines import register_answer_page

        register_answer_page("theses.thesisapplication", lambda adoption_id: f"/theses/adoptions/{adoption_id}/")

        ui.register(menu="theses.urls.ThesesApplication", prefix="theses/", urls="theses.urls", order=20)
        ui.register_public(prefix="results/theses/", urls="theses.urls_public", title=_("優良學位論文獲獎名單"))
        ui.register_public(prefix="applicants/", urls="theses.urls_applicants", title=_("學位論文獎補助申請"))
        api.register("theses.api")
