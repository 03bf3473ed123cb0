from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "handover.ops"
    label = "ops"
