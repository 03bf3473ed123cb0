from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "handover.payments"
    label = "payments"
