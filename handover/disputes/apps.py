from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "handover.disputes"
    label = "disputes"
