from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("帳號與機關")

    def ready(self) -> None:
        from workflow_site import api, delegation, demo, ui

        from .demo import demo_logins, seed
        from .selectors import acting_principals, delegations_received

        demo.register("accounts", seed)
        demo.register_logins(demo_logins)
        api.register("accounts.api")
        ui.register(menu="accounts.views.DirectoryApplication", order=80)
        # The ground floor's permission checks ask through this who a user stands in for.
        delegation.register(acting_principals=acting_principals, delegations_received=delegations_received)
