from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "handover.accounts"
    label = "accounts"
