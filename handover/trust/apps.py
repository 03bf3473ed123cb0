from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "handover.trust"
    label = "trust"
