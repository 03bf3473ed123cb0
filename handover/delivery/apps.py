from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "handover.delivery"
    label = "delivery"
