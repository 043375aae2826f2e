from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("帳號與機關")

    def ready(self) -> None:
        from workflow_site import demo

        from .demo import seed

        demo.register("accounts", seed)
