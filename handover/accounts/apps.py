from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "handover.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from handover.accounts.lockout import login_address_failed
        from handover.accounts.services import support_group_sync

        post_migrate.connect(
            lambda **kwargs: support_group_sync(), weak=False, dispatch_uid="handover.support_group"
        )
        user_login_failed.connect(login_address_failed, dispatch_uid="handover.login_address")
